/**
 * The conformance cases: black-box HTTP, one table, run as they are against every runtime.
 * `via` names the surface, which each runtime maps to its own listener:
 *   route   outbound listener (Node, Bun, Deno) / the gateway (workerd): routing and filters
 *   policy  inbound listener for `--service echo` / the gateway with Host `echo`: policies
 *   admin   admin listener / the gateway under /__legate/
 * A case that a runtime cannot pass is listed in `limits` with the reason (docs/runtimes.md).
 * @module
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'

export type Runtime = 'node' | 'bun' | 'deno' | 'workerd'
export type Via = 'route' | 'policy' | 'admin'

export interface Req {
  method?: string
  path: string
  host?: string
  headers?: Record<string, string>
  body?: string
}

export interface Res {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** What a case knows beside the response: the published config's digest, for one. */
export interface CaseContext {
  digest: string
  runtime: Runtime
  /** Identity tokens for the audience `echo`: from `frontend` (valid), and one signed by a key no service has. */
  tokens: { frontend: string; forged: string }
}

export interface Case {
  name: string
  via: Via
  /** Several requests are sent in order; `check` sees the last answer. */
  send: Req | Req[] | ((ctx: CaseContext) => Req)
  check(res: Res, ctx: CaseContext): void
  limits?: Partial<Record<Runtime, string>>
}

export const json = (res: Res) => JSON.parse(res.body) as Record<string, any>
/** The echo upstreams answer `{name, method, url, headers}`. */
const upstream = (res: Res, name: string) => {
  assert.equal(res.status, 200, res.body)
  const body = json(res)
  assert.equal(body.name, name)
  return body as { name: string; method: string; url: string; headers: Record<string, string> }
}
const localReply = (res: Res, status: number, code: string) => {
  assert.equal(res.status, status, res.body)
  assert.match(String(res.headers['content-type']), /application\/json/)
  const body = json(res)
  assert.equal(body.error, code)
  assert.equal(typeof body.message, 'string')
}

const TRACE = '0af7651916cd43dd8448eb211c80319c'
const BIG_BODY = 'legate-'.repeat(37450).slice(0, 256 * 1024)
const BIG_BODY_SHA = createHash('sha256').update(BIG_BODY).digest('hex')

export const cases: Case[] = [
  // Routing and precedence (Gateway API HTTPRoute semantics).
  { name: 'implicit route: Host = service name', via: 'route', send: { path: '/hello?x=1', host: 'echo' }, check: (r) => assert.equal(upstream(r, 'echo').url, '/hello?x=1') },
  { name: 'Exact path beats PathPrefix', via: 'route', send: { path: '/exact', host: 'web.example' }, check: (r) => void upstream(r, 'v2') },
  { name: 'longest PathPrefix wins', via: 'route', send: { path: '/api/v2/x', host: 'web.example' }, check: (r) => void upstream(r, 'v2') },
  { name: 'a header match beats the same prefix without one', via: 'route', send: { path: '/api/x', host: 'web.example', headers: { 'x-canary': '1' } }, check: (r) => void upstream(r, 'v2') },
  { name: 'a method match beats the same prefix without one', via: 'route', send: { method: 'DELETE', path: '/api/x', host: 'web.example' }, check: (r) => assert.equal(upstream(r, 'v2').method, 'DELETE') },
  { name: 'exact hostname beats a wildcard', via: 'route', send: { path: '/', host: 'a.wild.example' }, check: (r) => void upstream(r, 'v2') },
  { name: 'a wildcard matches one or more labels', via: 'route', send: { path: '/', host: 'x.y.wild.example' }, check: (r) => void upstream(r, 'echo') },
  { name: 'hostnames match case-insensitively, ignoring :port', via: 'route', send: { path: '/api/x', host: 'WEB.Example:8080' }, check: (r) => void upstream(r, 'echo') },
  { name: '404 no_route: unknown host', via: 'route', send: { path: '/', host: 'nothing.example' }, check: (r) => localReply(r, 404, 'no_route') },
  { name: '404 no_route: a listed host, no rule matches', via: 'route', send: { path: '/zzz', host: 'web.example' }, check: (r) => localReply(r, 404, 'no_route') },
  // Filters.
  {
    name: 'RequestHeaderModifier and ResponseHeaderModifier',
    via: 'route',
    send: { path: '/api/x', host: 'web.example', headers: { 'x-strip': '1', 'x-keep': 'k' } },
    check: (r) => {
      const body = upstream(r, 'echo')
      assert.equal(body.headers['x-added'], 'yes')
      assert.equal(body.headers['x-strip'], undefined)
      assert.equal(body.headers['x-keep'], 'k')
      assert.equal(r.headers['x-resp'], 'r')
    },
  },
  { name: 'URLRewrite ReplacePrefixMatch keeps the query', via: 'route', send: { path: '/old/a?q=1', host: 'web.example' }, check: (r) => assert.equal(upstream(r, 'echo').url, '/new/a?q=1') },
  {
    name: 'RequestRedirect answers 301 with Location',
    via: 'route',
    send: { path: '/moved/x', host: 'web.example' },
    check: (r) => {
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, 'https://new.example/moved/x')
    },
  },
  { name: 'Fault abort answers its status', via: 'route', send: { path: '/fault', host: 'web.example' }, check: (r) => assert.equal(r.status, 503) },
  {
    name: 'CORS preflight answered locally',
    via: 'route',
    send: { method: 'OPTIONS', path: '/cors/x', host: 'web.example', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT' } },
    check: (r) => {
      assert.ok(r.status === 200 || r.status === 204, `status ${r.status}`)
      assert.equal(r.headers['access-control-allow-origin'], 'https://app.example')
      assert.match(String(r.headers['access-control-allow-methods']), /PUT/)
    },
  },
  // Forwarded headers (CONTRACT §5).
  {
    name: 'x-request-id kept, traceparent a child span, x-forwarded-for appended, hop-by-hop dropped',
    via: 'route',
    send: { path: '/api/h', host: 'web.example', headers: { 'x-request-id': 'conf-1', traceparent: `00-${TRACE}-b7ad6b7169203331-01`, 'x-forwarded-for': '203.0.113.9', connection: 'x-hop', 'x-hop': 'secret', 'x-legate-source': 'forged' } },
    check: (r) => {
      const h = upstream(r, 'echo').headers
      assert.equal(h['x-request-id'], 'conf-1')
      const [, trace, span] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(h.traceparent ?? '') ?? []
      assert.equal(trace, TRACE)
      assert.notEqual(span, 'b7ad6b7169203331')
      assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1')
      assert.equal(h['x-hop'], undefined)
      assert.equal(h['x-legate-source'], undefined)
      assert.equal(r.headers['x-hop'], undefined, 'a response header named in Connection is dropped')
      assert.equal(r.headers['x-request-id'] ?? 'conf-1', 'conf-1')
    },
  },
  // Local replies.
  { name: '502 upstream_unavailable: nothing listens', via: 'route', send: { path: '/down', host: 'web.example' }, check: (r) => localReply(r, 502, 'upstream_unavailable') },
  { name: '504 upstream_timeout: timeouts.request passes with no answer', via: 'route', send: { path: '/slow', host: 'web.example' }, check: (r) => localReply(r, 504, 'upstream_timeout') },
  {
    name: 'a 256 KiB POST body reaches the upstream whole',
    via: 'route',
    send: { method: 'POST', path: '/upload', host: 'web.example', headers: { 'content-type': 'application/octet-stream' }, body: BIG_BODY },
    check: (r) => {
      assert.equal(r.status, 200, r.body)
      assert.deepEqual(json(r), { name: 'body', length: BIG_BODY.length, sha256: BIG_BODY_SHA })
    },
  },
  // Policies for the service `echo`.
  { name: 'allowed by policy: forwarded', via: 'policy', send: { path: '/ok', host: 'echo' }, check: (r) => assert.equal(upstream(r, 'echo').url, '/ok') },
  {
    name: 'identity: a valid token from frontend passes a DENY notServices policy; inbound sends x-legate-source',
    via: 'policy',
    send: (ctx) => ({ path: '/private/x', host: 'echo', headers: { 'legate-identity': ctx.tokens.frontend } }),
    check: (r, ctx) => {
      const h = upstream(r, 'echo').headers
      // Inbound tells the app who called; a gateway (workerd) is itself the caller of what it
      // routes to and sends its own identity, never the client's (worker/filters/identity.ts).
      assert.equal(h['x-legate-source'], ctx.runtime === 'workerd' ? undefined : 'frontend')
      assert.equal(h['legate-identity'], undefined, 'the token does not reach the app')
    },
  },
  { name: 'identity: no token, DENY notServices → 403 forbidden', via: 'policy', send: { path: '/private/x', host: 'echo' }, check: (r) => localReply(r, 403, 'forbidden') },
  { name: 'identity: a token signed by an unknown key → 401 unauthenticated', via: 'policy', send: (ctx) => ({ path: '/private/x', host: 'echo', headers: { 'legate-identity': ctx.tokens.forged } }), check: (r) => localReply(r, 401, 'unauthenticated') },
  { name: 'authorization DENY: 403 forbidden', via: 'policy', send: { path: '/admin/x', host: 'echo' }, check: (r) => localReply(r, 403, 'forbidden') },
  {
    name: 'rate limit: 429 rate_limited with Retry-After and RateLimit headers',
    via: 'policy',
    send: [1, 2, 3].map(() => ({ path: '/limited', host: 'echo', headers: { 'x-client': 'c1' } })),
    check: (r) => {
      localReply(r, 429, 'rate_limited')
      assert.match(String(r.headers['retry-after']), /^\d+$/)
      assert.match(String(r.headers['ratelimit-policy']), /q=2/)
      assert.ok(r.headers.ratelimit, 'RateLimit header')
    },
  },
  { name: 'rate limit keys apart: another client passes', via: 'policy', send: { path: '/limited', host: 'echo', headers: { 'x-client': 'c2' } }, check: (r) => void upstream(r, 'echo') },
  // Admin.
  { name: 'admin /healthz 200', via: 'admin', send: { path: '/healthz' }, check: (r) => assert.equal(r.status, 200) },
  { name: 'admin /readyz 200 with the version', via: 'admin', send: { path: '/readyz' }, check: (r) => assert.deepEqual([r.status, json(r).ready, json(r).version], [200, true, 1]) },
  {
    name: 'admin /config: mesh, version, digest, issuer, times, no error',
    via: 'admin',
    send: { path: '/config' },
    check: (r, ctx) => {
      const c = json(r)
      assert.equal(r.status, 200)
      assert.deepEqual([c.mesh, c.version, c.digest, c.iss, c.lastError], ['demo', 1, ctx.digest, 'conformance', null])
      assert.ok(Number.isInteger(c.iat) && Number.isInteger(c.exp) && c.exp > c.iat)
      assert.ok(!Number.isNaN(Date.parse(c.appliedAt)))
    },
  },
  {
    name: 'admin /metrics: Prometheus text 0.0.4, every family from the start',
    via: 'admin',
    send: { path: '/metrics' },
    check: (r) => {
      assert.equal(r.status, 200)
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/)
      for (const family of ['legate_requests_total', 'legate_request_duration_seconds', 'legate_local_replies_total', 'legate_upstream_retries_total', 'legate_endpoint_healthy', 'legate_config_version', 'legate_config_updates_total']) {
        assert.match(r.body, new RegExp(`^# TYPE ${family} `, 'm'), family)
      }
      assert.match(r.body, /^legate_config_version 1$/m)
      assert.match(r.body, /^legate_local_replies_total\{reason="no_route"\} [1-9]/m)
    },
  },
  {
    // workerd runs isolates, not a process of the ambassador's own: the families are left out there.
    name: "admin /metrics: the process's CPU time and memory (process_*; none on workerd)",
    via: 'admin',
    send: { path: '/metrics' },
    check: (r, ctx) => {
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.body)?.[1])
      if (ctx.runtime === 'workerd') return assert.doesNotMatch(r.body, /^process_/m)
      assert.ok(value('process_cpu_seconds_total') > 0)
      const rss = value('process_resident_memory_bytes')
      assert.ok(rss > 10e6 && rss < 4e9, `rss ${rss}`)
      assert.ok(value('process_heap_bytes') > 1e5)
      const age = Date.now() / 1000 - value('process_start_time_seconds')
      assert.ok(age > -2 && age < 600, `started ${age} s ago`)
      assert.ok(value('process_open_fds') > 3 && value('process_max_fds') >= value('process_open_fds'))
    },
  },
  {
    // workerd's admin paths share the gateway's public port: no one may change the level there.
    name: 'admin /logging: a bad new level refused with 400 bad_request (not on workerd)',
    via: 'admin',
    send: { method: 'POST', path: '/logging?level=loud' },
    check: (r, ctx) => {
      if (ctx.runtime === 'workerd') return assert.equal(r.status, 404)
      assert.equal(r.status, 400)
      assert.equal(json(r).error, 'bad_request')
    },
  },
  {
    name: 'admin /logging: GET gives the level in force (not on workerd)',
    via: 'admin',
    send: { path: '/logging' },
    check: (r, ctx) => {
      if (ctx.runtime === 'workerd') return assert.equal(r.status, 404)
      assert.equal(r.status, 200)
      assert.ok(['debug', 'info', 'warn', 'error', 'silent'].includes(json(r).level), r.body)
    },
  },
]

/** After version 2 is published once: every runtime applies it. */
export const afterUpdate: Case[] = [
  { name: 'config update applied: /readyz shows version 2', via: 'admin', send: { path: '/readyz' }, check: (r) => assert.deepEqual([r.status, json(r).version], [200, 2]) },
  { name: 'config update applied: the moved rule routes anew', via: 'route', send: { path: '/exact', host: 'web.example' }, check: (r) => void upstream(r, 'echo') },
]

/** After version 3 (signed by a key the ambassadors do not trust) is published: refused, version 2 serves. */
export const afterBadConfig: Case[] = [
  {
    name: 'bad config refused: /config keeps version 2 and says untrusted_key',
    via: 'admin',
    send: { path: '/config' },
    check: (r) => {
      const c = json(r)
      assert.equal(c.version, 2)
      assert.equal(c.lastError?.code, 'untrusted_key')
    },
  },
  { name: 'bad config refused: /readyz stays 200 and gives the reason', via: 'admin', send: { path: '/readyz' }, check: (r) => assert.deepEqual([r.status, json(r).version, /untrusted_key/.test(json(r).reason)], [200, 2, true]) },
  { name: 'bad config refused: last-known-good keeps routing', via: 'route', send: { path: '/exact', host: 'web.example' }, check: (r) => void upstream(r, 'echo') },
  { name: 'bad config refused: counted in legate_config_updates_total', via: 'admin', send: { path: '/metrics' }, check: (r) => assert.match(r.body, /^legate_config_updates_total\{result="rejected",reason="untrusted_key"\} [1-9]/m) },
]
