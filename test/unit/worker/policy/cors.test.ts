/** The CORS filter against the cases of the Gateway API conformance tests (HTTPRouteCORS, HTTPRouteCORSAllowCredentialsBehavior). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMeshConfig } from '../../../../protocol/index.ts'
import { compileCors, type CorsConfig } from '../../../../worker/policy/cors.ts'

function corsOf(cors: Record<string, unknown>): CorsConfig {
  const config = parseMeshConfig({
    mesh: 'demo',
    services: [{ name: 'echo', endpoints: ['http://127.0.0.1:1'] }],
    routes: [{ name: 'r', rules: [{ filters: [{ type: 'CORS', cors }], backendRefs: [{ name: 'echo' }] }] }],
  })
  const f = config.routes[0]!.rules[0]!.filters[0]!
  assert.equal(f.type, 'CORS')
  return (f as { cors: CorsConfig }).cors
}

const multi = compileCors(corsOf({
  allowOrigins: ['https://www.foo.com', 'https://*.bar.com'],
  allowMethods: ['GET', 'OPTIONS'],
  allowHeaders: ['x-header-1', 'x-header-2'],
  exposeHeaders: ['x-header-3', 'x-header-4'],
  allowCredentials: true,
  maxAge: 3600,
}))
const wildcardMethods = compileCors(corsOf({ allowOrigins: ['https://www.foo.com'], allowMethods: ['*'] }))
const wildcardOrigin = compileCors(corsOf({ allowOrigins: ['*'], allowMethods: ['PUT'] }))
const allWildcardCreds = compileCors(corsOf({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'], allowCredentials: true }))
const allWildcard = compileCors(corsOf({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'] }))

const preflight = (origin: string, method: string, headers?: string) =>
  new Request('http://gw/cors', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, ...(headers ? { 'access-control-request-headers': headers } : {}) } })

function simple(policy: ReturnType<typeof compileCors>, origin: string, appHeaders: Record<string, string> = {}) {
  const res = new Headers(appHeaders)
  policy.decorate(new Headers({ origin }), res)
  return res
}

for (const origin of ['https://www.foo.com', 'https://www.bar.com', 'https://xpto.www.bar.com']) {
  test(`preflight from a matching origin (${origin}) is answered with the rule's CORS headers`, () => {
    const r = multi.preflight(preflight(origin, 'GET', 'x-header-1, x-header-2'))!
    assert.ok(r.status === 200 || r.status === 204)
    assert.equal(r.headers.get('access-control-allow-origin'), origin)
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET, OPTIONS')
    assert.equal(r.headers.get('access-control-allow-headers'), 'x-header-1, x-header-2')
    assert.equal(r.headers.get('access-control-expose-headers'), 'x-header-3, x-header-4')
    assert.equal(r.headers.get('access-control-max-age'), '3600')
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true')
  })
}

test('preflight and simple request from a non-matching origin get no allow-origin', () => {
  for (const origin of ['https://foobar.com', 'http://www.foo.com', 'https://bar.com', 'https://www.foo.com.evil.com']) {
    const r = multi.preflight(preflight(origin, 'GET'))!
    assert.ok([200, 204, 403].includes(r.status))
    assert.equal(r.headers.get('access-control-allow-origin'), null, origin)
    assert.equal(simple(multi, origin).get('access-control-allow-origin'), null, origin)
  }
})

test('simple requests from matching origins get allow-origin, credentials and expose-headers', () => {
  for (const origin of ['https://www.foo.com', 'https://www.bar.com']) {
    const h = simple(multi, origin)
    assert.equal(h.get('access-control-allow-origin'), origin)
    assert.equal(h.get('access-control-allow-credentials'), 'true')
    assert.equal(h.get('access-control-expose-headers'), 'x-header-3, x-header-4')
    assert.match(h.get('vary') ?? '', /Origin/)
  }
})

test('allowMethods "*" without credentials: POST allowed, no allow-credentials', () => {
  const r = wildcardMethods.preflight(preflight('https://www.foo.com', 'POST'))!
  assert.ok(['POST', '*'].includes(r.headers.get('access-control-allow-methods')!))
  assert.equal(r.headers.get('access-control-allow-origin'), 'https://www.foo.com')
  assert.equal(r.headers.get('access-control-allow-credentials'), null)
})

test('allowOrigins "*": preflight and requests (also with a port) answer "*" or the origin, never credentials', () => {
  for (const origin of ['https://foobar.com', 'https://foobar.com:12345']) {
    const r = wildcardOrigin.preflight(preflight(origin, 'PUT'))!
    assert.ok([origin, '*'].includes(r.headers.get('access-control-allow-origin')!))
    assert.equal(r.headers.get('access-control-allow-methods'), 'PUT')
    assert.equal(r.headers.get('access-control-allow-credentials'), null)
    const h = simple(wildcardOrigin, origin)
    assert.ok([origin, '*'].includes(h.get('access-control-allow-origin')!))
  }
})

test('all wildcards with credentials: the origin, method and headers are echoed (a browser ignores "*" with credentials)', () => {
  const r = allWildcardCreds.preflight(preflight('https://other.foo.com', 'PUT', 'x-header-1, x-header-2'))!
  assert.equal(r.status, 200)
  assert.equal(r.headers.get('access-control-allow-origin'), 'https://other.foo.com')
  assert.equal(r.headers.get('access-control-allow-methods'), 'PUT')
  assert.equal(r.headers.get('access-control-allow-headers'), 'x-header-1, x-header-2')
  assert.equal(r.headers.get('access-control-allow-credentials'), 'true')
  const h = simple(allWildcardCreds, 'https://other.foo.com')
  assert.equal(h.get('access-control-allow-origin'), 'https://other.foo.com')
  assert.equal(h.get('access-control-allow-credentials'), 'true')
})

test('all wildcards without credentials: no allow-credentials on preflight or request', () => {
  const r = allWildcard.preflight(preflight('https://other.foo.com', 'PUT', 'x-header-1, x-header-2'))!
  assert.ok(['https://other.foo.com', '*'].includes(r.headers.get('access-control-allow-origin')!))
  assert.ok(['PUT', '*'].includes(r.headers.get('access-control-allow-methods')!))
  assert.equal(r.headers.get('access-control-allow-credentials'), null)
  assert.equal(simple(allWildcard, 'https://other.foo.com').get('access-control-allow-credentials'), null)
})

test('allowCredentials false: never allow-credentials; true: only beside a matching origin', () => {
  const off = compileCors(corsOf({ allowOrigins: ['https://app.example'], allowCredentials: false }))
  const on = compileCors(corsOf({ allowOrigins: ['https://app.example'], allowCredentials: true }))
  assert.equal(simple(off, 'https://app.example').get('access-control-allow-credentials'), null)
  assert.equal(simple(on, 'http://not-app.example').get('access-control-allow-credentials'), null)
  assert.equal(simple(on, 'http://not-app.example').get('access-control-allow-origin'), null)
  const h = simple(on, 'https://app.example')
  assert.equal(h.get('access-control-allow-credentials'), 'true')
  assert.equal(h.get('access-control-allow-origin'), 'https://app.example')
})

test("the app's own CORS headers never stand beside the filter's", () => {
  const h = simple(multi, 'https://evil.example', { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' })
  assert.equal(h.get('access-control-allow-origin'), null)
  assert.equal(h.get('access-control-allow-credentials'), null)
})

test('not a preflight: OPTIONS without Access-Control-Request-Method, or without Origin, or another method', () => {
  assert.equal(multi.preflight(new Request('http://gw/', { method: 'OPTIONS', headers: { origin: 'https://www.foo.com' } })), undefined)
  assert.equal(multi.preflight(new Request('http://gw/', { method: 'OPTIONS', headers: { 'access-control-request-method': 'GET' } })), undefined)
  assert.equal(multi.preflight(new Request('http://gw/', { headers: { origin: 'https://www.foo.com', 'access-control-request-method': 'GET' } })), undefined)
})
