// The compiled table against a brute-force model of the documented rules (docs/routing.md):
// every rule of every route is checked one by one and the matches are sorted by precedence.
// Random configs and requests from a seeded generator: the index (host levels, exact map,
// prefix probes, regex list, pre-sorted candidates) must pick exactly what the model picks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMeshConfig } from '../../../../protocol/validate.ts'
import type { MeshConfig, RouteMatch } from '../../../../protocol/schema.ts'
import { compileRoutes } from '../../../../worker/route/compile.ts'
import type { RouteRequest } from '../../../../worker/route/types.ts'

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const HOSTNAMES = ['a.example.com', 'b.example.com', 'x.b.example.com', '*.example.com', '*.b.example.com', 'svc1', 'svc2.mesh']
const REQUEST_HOSTS = ['a.example.com', 'A.Example.com:8080', 'b.example.com', 'x.b.example.com', 'y.x.b.example.com', 'z.example.com', 'example.com', 'svc1', 'svc1.mesh', 'svc2', 'svc2.mesh:15001', 'other']
const PATH_VALUES = ['/', '/a', '/a/', '/a/b', '/ab', '/a/b/c', '/c']
const REGEXES = ['/a/.*', '/[ab]+', '/a/b(/.*)?']
const REQUEST_PATHS = ['/', '/a', '/a/', '/a/b', '/a/bc', '/ab', '/a/b/c', '/a/b/c/d', '/c', '/cc', '/b']
const METHODS = [undefined, undefined, 'GET', 'POST'] as const
const HEADERS = [
  { name: 'x-a', value: '1' },
  { name: 'X-B', value: '2' },
  { name: 'x-c', value: '[0-9]', type: 'RegularExpression' },
]
const QUERIES = [
  { name: 'q', value: '1' },
  { name: 'r', value: 'y.*', type: 'RegularExpression' },
]

function generate(random: () => number) {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const subset = <T>(list: readonly T[]): T[] => list.filter(() => random() < 0.3)
  const routes = []
  const nRoutes = 1 + Math.floor(random() * 6)
  for (let r = 0; r < nRoutes; r++) {
    const rules = []
    for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
      const matches = []
      for (let m = 0, n = 1 + Math.floor(random() * 2); m < n; m++) {
        const kind = random()
        const path = kind < 0.3 ? { type: 'Exact', value: pick(PATH_VALUES) } : kind < 0.85 ? { type: 'PathPrefix', value: pick(PATH_VALUES) } : { type: 'RegularExpression', value: pick(REGEXES) }
        const method = pick(METHODS)
        matches.push({ path, ...(method ? { method } : {}), headers: subset(HEADERS), queryParams: subset(QUERIES) })
      }
      rules.push({ matches, backendRefs: [{ name: 'svc1' }] })
    }
    const hostnames = random() < 0.25 ? undefined : subset(HOSTNAMES).slice(0, 2)
    routes.push({ name: `r${r}`, ...(hostnames && hostnames.length ? { hostnames } : {}), rules })
  }
  const request: RouteRequest = {
    host: pick(REQUEST_HOSTS),
    path: pick(REQUEST_PATHS),
    method: random() < 0.6 ? 'GET' : 'POST',
    headers: new Headers(Object.fromEntries(subset([['x-a', '1'], ['x-b', '2'], ['x-c', '7'], ['x-c', 'x']] as [string, string][]))),
    query: subset(['q=1', 'r=yes', 'r=no', 'q=2']).join('&'),
  }
  return { config: parseMeshConfig({ mesh: 'mesh', services: [{ name: 'svc1', endpoints: ['http://127.0.0.1:1'] }, { name: 'svc2', endpoints: ['http://127.0.0.1:2'] }], routes }), request }
}

// ---- the model: straight from the documented rules, no indexes ---------------------------

const trim = (p: string) => p.replace(/\/+$/, '')
function pathRank(m: RouteMatch, path: string): [number, number] | undefined {
  const { type, value } = m.path
  if (type === 'Exact') return path === value ? [0, 0] : undefined
  if (type === 'PathPrefix') {
    const p = trim(value)
    return path === p || path.startsWith(`${p}/`) ? [1, -p.length] : undefined
  }
  return new RegExp(`^(?:${value})$`).test(path) ? [2, 0] : undefined
}

function firstQuery(query: string, name: string): string | undefined {
  return new URLSearchParams(query).get(name) ?? undefined
}

function conditions(m: RouteMatch, req: RouteRequest): boolean {
  if (m.method && m.method !== req.method) return false
  const ok = (type: string, want: string, got: string | null | undefined) => got != null && (type === 'Exact' ? got === want : new RegExp(`^(?:${want})$`).test(got))
  return m.headers.every((h) => ok(h.type, h.value, req.headers.get(h.name))) && m.queryParams.every((q) => ok(q.type, q.value, firstQuery(req.query, q.name)))
}

function hostRank(hostnames: string[] | undefined, host: string): number | undefined {
  if (!hostnames || hostnames.length === 0) return 1e6 // catch-all
  let best: number | undefined
  for (const h of hostnames) {
    const rank = h === host ? 0 : h.startsWith('*.') && host.endsWith(h.slice(1)) ? 1000 - h.length : undefined
    if (rank !== undefined && (best === undefined || rank < best)) best = rank
  }
  return best
}

function model(config: MeshConfig, req: RouteRequest): string | undefined {
  const host = req.host.toLowerCase().replace(/:\d+$/, '')
  const listed = config.routes.some((r) => r.hostnames?.includes(host))
  const service = config.services.find((s) => host === s.name || host === `${s.name}.${config.mesh}`)
  if (service && !listed) return `${service.name}[-1]`
  const found: { key: number[]; id: string }[] = []
  let order = 0
  for (const route of config.routes) {
    const hr = hostRank(route.hostnames, host)
    route.rules.forEach((rule, index) => {
      for (const m of rule.matches) {
        const o = order++
        if (hr === undefined) continue
        const pr = pathRank(m, req.path)
        if (!pr || !conditions(m, req)) continue
        found.push({ key: [hr, ...pr, m.method ? 0 : 1, -m.headers.length, -m.queryParams.length, o], id: `${route.name}[${index}]${m.path.type === 'PathPrefix' ? trim(m.path.value) || '/' : ''}` })
      }
    })
  }
  found.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) if (a.key[i] !== b.key[i]) return a.key[i]! - b.key[i]!
    return 0
  })
  return found[0]?.id
}

test('the compiled table agrees with a brute-force model on 3,000 random configs and requests', () => {
  const random = mulberry32(20261126)
  let hits = 0
  for (let i = 0; i < 3000; i++) {
    const { config, request } = generate(random)
    const table = compileRoutes(config)
    const hit = table.match(request)
    const got = hit && `${hit.rule.route}[${hit.rule.index}]${hit.matchedPrefix ?? ''}`
    const want = model(config, request)
    if (got !== want) assert.fail(`case ${i}: table ${got}, model ${want}\nrequest ${JSON.stringify({ ...request, headers: Object.fromEntries(request.headers as Headers) })}\nroutes ${JSON.stringify(config.routes)}`)
    if (want) hits++
  }
  // The generator must exercise both outcomes, or the agreement would say little.
  assert.ok(hits > 600 && hits < 2700, `${hits} of 3000 requests matched`)
})
