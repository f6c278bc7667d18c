/**
 * One point of the config-scale scenario, in a fresh process (so its RSS is its own):
 * generate a mesh with N routes, sign it, then time what an ambassador does when the config
 * arrives: verify (size cap, signature, claims, schema) and compile (routing table and
 * endpoint state, `compileSnapshot` → `compileRoutes`). Also the RSS the compiled snapshot
 * holds and the cost of one route lookup for the last route. Writes the JWS to OUT for the
 * ambassador part, prints one JSON line.
 *
 * "apply" is a config none of whose routes this process has seen (verifyConfig without
 * `previous`: a start, the CLI, the control). "update" is what an ambassador does for the next
 * version, with 1 route in 100 changed: verifyConfig with `previous` (unchanged routes are not
 * validated again) and compileSnapshot with the previous snapshot.
 *
 *   node --expose-gc --import tsx bench/scale-worker.ts N UPSTREAM_URL OUT.jws [PRIVATE_JWK]
 * (signs with PRIVATE_JWK when given, so the ambassador that trusts it can load OUT.jws)
 * @module
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { generateSigningKey, createTrustSet, importSigningKey, signConfig, verifyConfig, parseMeshConfig } from '../protocol/index.ts'
import { compileSnapshot } from '../worker/config/snapshot.ts'
import { meshDocument, MESH } from './lib/legate.ts'
import { median } from './lib/stats.ts'

const [nArg, upstream, out, keyPath] = process.argv.slice(2)
const n = Number(nArg)
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})
const rssMb = () => process.memoryUsage().rss / 2 ** 20
const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20

const { privateJwk, publicJwk } = keyPath
  ? (() => {
      const priv = JSON.parse(readFileSync(keyPath, 'utf8'))
      const { d: _d, ...pub } = priv
      return { privateJwk: priv, publicJwk: pub }
    })()
  : await generateSigningKey('bench-scale')
const key = await importSigningKey(privateJwk)
const trust = await createTrustSet({ keys: [publicJwk] })
const doc = meshDocument(upstream!, n)
const t0 = performance.now()
const jws = await signConfig(doc, { ...key, ttlSeconds: 86400 })
const signMs = performance.now() - t0
if (out) writeFileSync(out, jws + '\n')
const maxBytes = jws.length + 1024

const reps = n >= 100_000 ? 3 : n >= 10_000 ? 5 : 9
const verifyTimes: number[] = []
const compileTimes: number[] = []
// Process CPU time as well (all threads: WebCrypto's and the GC's helpers count): on a machine
// shared with other work the wall clock also counts the time this process waited for a core.
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const applyCpuTimes: number[] = []
const updateCpuTimes: number[] = []
let verified = await verifyConfig(jws, { trust, mesh: MESH, maxBytes })
compileSnapshot(verified, Date.now()) // warm the code paths once
for (let i = 0; i < reps; i++) {
  gc()
  const cpu = cpuMs()
  const a = performance.now()
  verified = await verifyConfig(jws, { trust, mesh: MESH, maxBytes })
  const b = performance.now()
  compileSnapshot(verified, Date.now())
  const c = performance.now()
  applyCpuTimes.push(cpuMs() - cpu)
  verifyTimes.push(b - a)
  compileTimes.push(c - b)
}

// The next version, 1 route in 100 changed, applied the way the config holder does.
const next = structuredClone(doc) as { routes?: { rules: { matches: { path: { value: string } }[] }[] }[] }
for (let i = 0; i < n; i += 100) {
  const rules = next.routes![i]!.rules
  rules[rules.length - 1]!.matches[0]!.path.value = '/changed'
}
const jws2 = await signConfig(next, { ...key, ttlSeconds: 86400 })
const rememberTimes: number[] = []
const updateVerifyTimes: number[] = []
const updateCompileTimes: number[] = []
for (let i = 0; i < reps; i++) {
  gc()
  const a = performance.now()
  const first = await verifyConfig(jws, { trust, mesh: MESH, maxBytes, previous: null })
  rememberTimes.push(performance.now() - a)
  const current = compileSnapshot(first, Date.now())
  gc()
  const cpu = cpuMs()
  const b = performance.now()
  const second = await verifyConfig(jws2, { trust, mesh: MESH, maxBytes: jws2.length + 1024, previous: first })
  const c = performance.now()
  compileSnapshot(second, Date.now(), current)
  updateVerifyTimes.push(c - b)
  updateCompileTimes.push(performance.now() - c)
  updateCpuTimes.push(cpuMs() - cpu)
}

// Where verify's time goes: decoding the payload (base64url + JSON.parse) and the schema (zod).
const payload = jws.split('.')[1]!
const decodeTimes: number[] = []
const schemaTimes: number[] = []
for (let i = 0; i < reps; i++) {
  const a = performance.now()
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { config: unknown }
  const b = performance.now()
  parseMeshConfig(claims.config)
  const c = performance.now()
  decodeTimes.push(b - a)
  schemaTimes.push(c - b)
}

// RSS and heap the compiled snapshot holds (the verified config is held either way).
gc()
gc()
const rss0 = rssMb()
const heap0 = heapMb()
const snapshot = compileSnapshot(verified, Date.now())
gc()
gc()
const snapshotHeapMb = heapMb() - heap0
const snapshotRssMb = rssMb() - rss0

// One lookup for the last route (Host h<N-1>), and one for the implicit service route.
const headers = new Headers()
const req = { host: n > 0 ? `h${n - 1}` : 'echo', path: '/100b', method: 'GET', headers, query: '' }
let hits = 0
const lookups = 200_000
for (let i = 0; i < 20_000; i++) if (snapshot.table.match(req)) hits++
const l0 = performance.now()
for (let i = 0; i < lookups; i++) if (snapshot.table.match(req)) hits++
const lookupNs = ((performance.now() - l0) * 1e6) / lookups

process.stdout.write(
  JSON.stringify({
    routes: n,
    jwsBytes: jws.length,
    signMs,
    verifyMs: median(verifyTimes),
    decodeMs: median(decodeTimes),
    schemaMs: median(schemaTimes),
    compileMs: median(compileTimes),
    applyMs: median(verifyTimes.map((v, i) => v + compileTimes[i]!)),
    verifyRememberingMs: median(rememberTimes),
    updateVerifyMs: median(updateVerifyTimes),
    updateCompileMs: median(updateCompileTimes),
    updateApplyMs: median(updateVerifyTimes.map((v, i) => v + updateCompileTimes[i]!)),
    applyCpuMs: median(applyCpuTimes),
    updateApplyCpuMs: median(updateCpuTimes),
    reps,
    snapshotHeapMb,
    snapshotRssMb,
    processRssMb: rssMb(),
    lookupNs,
    matched: hits === lookups + 20_000,
  }) + '\n',
)
