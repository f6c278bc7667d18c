/**
 * The config schema (CONTRACT §1): defaults, normalization, field checks, every
 * cross-reference check, and the paths issues are reported at.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { checkMeshConfig, formatPath, isLegateError, parseMeshConfig } from '../../../protocol/index.ts'
import { exampleConfig, makeKey } from '../../helpers/keys.ts'

type Doc = Record<string, any>

const base = (): Doc => ({
  mesh: 'demo',
  services: [
    { name: 'echo', endpoints: ['http://127.0.0.1:9001'] },
    { name: 'shadow', endpoints: ['http://127.0.0.1:9002'] },
  ],
  routes: [{ name: 'echo', rules: [{ backendRefs: [{ name: 'echo' }] }] }],
})

/** A rule of `base()` with these fields, in route 0. */
const withRule = (rule: Doc): Doc => ({ ...base(), routes: [{ name: 'echo', rules: [{ backendRefs: [{ name: 'echo' }], ...rule }] }] })

/** Asserts that the document has an issue at exactly `path` (and a message matching `message`). */
function issueAt(doc: unknown, path: string, message?: RegExp) {
  const issues = checkMeshConfig(doc)
  const hit = issues.find((i) => i.path === path)
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(issues)}`)
  if (message) assert.match(hit.message, message)
}

const valid = (doc: unknown) => assert.deepEqual(checkMeshConfig(doc), [])

// ------------------------------------------------------------ paths and errors

test('formatPath writes paths the way operators read them', () => {
  assert.equal(formatPath(['routes', 2, 'rules', 0, 'backendRefs', 0, 'name']), 'routes[2].rules[0].backendRefs[0].name')
  assert.equal(formatPath(['mesh']), 'mesh')
  assert.equal(formatPath([3, 'a']), '[3].a')
  assert.equal(formatPath([]), '(root)')
})

test('examples/mesh.yaml is valid', () => valid(exampleConfig()))

test('parseMeshConfig throws invalid_config carrying every issue', () => {
  const doc = { mesh: 'Demo', services: [{ name: 'x', endpoints: [] }] }
  assert.throws(
    () => parseMeshConfig(doc),
    (err) => isLegateError(err) && err.code === 'invalid_config' && err.issues!.length === 2 && /2 issues/.test(err.message),
  )
})

test('field errors and reference errors are reported together in one pass', () => {
  const doc = withRule({ backendRefs: [{ name: 'ghost' }] })
  doc.services[0].loadBalancing = 'fastest'
  const paths = checkMeshConfig(doc).map((i) => i.path)
  assert.ok(paths.includes('services[0].loadBalancing'), paths.join())
  assert.ok(paths.includes('routes[0].rules[0].backendRefs[0].name'), paths.join())
})

test('unknown fields are named, at any depth', () => {
  issueAt({ ...base(), extra: 1 }, 'extra', /unknown field "extra"/)
  const doc = base()
  doc.services[0].healthCheck = { path: '/h', intervall: '5s' }
  issueAt(doc, 'services[0].healthCheck.intervall', /unknown field/)
  issueAt(withRule({ retry: { attempts: 1, backof: '1s' } }), 'routes[0].rules[0].retry.backof')
})

test('wrong types are errors at their path', () => {
  issueAt({ ...base(), services: {} }, 'services')
  const doc = base()
  doc.services[1].endpoints = 'http://127.0.0.1:9002'
  issueAt(doc, 'services[1].endpoints')
  issueAt(withRule({ backendRefs: [{ name: 'echo', weight: '5' }] }), 'routes[0].rules[0].backendRefs[0].weight')
})

test("zod's own messages say what was wrong, not just \"Invalid input\"", () => {
  // zod/mini words nothing without a locale (protocol/schema.ts configures English).
  assert.deepEqual(checkMeshConfig({ mesh: 'a', services: 3 }), [{ path: 'services', message: 'Invalid input: expected array, received number' }])
})

// -------------------------------------------------------- defaults and shapes

test('defaults are filled in', () => {
  const doc = base()
  doc.services[0].healthCheck = {}
  doc.services[0].outlierDetection = {}
  doc.services[0].circuitBreaker = {}
  doc.routes[0].rules[0].retry = {}
  const c = parseMeshConfig(doc)
  const s = c.services[0]!
  assert.equal(s.loadBalancing, 'round-robin')
  assert.equal(s.hashKey, 'client-ip')
  assert.deepEqual(s.healthCheck, { path: '/healthz', interval: 5_000, timeout: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 })
  assert.deepEqual(s.outlierDetection, { consecutive5xx: 5, interval: 10_000, baseEjectionTime: 30_000, maxEjectionPercent: 50 })
  assert.deepEqual(s.circuitBreaker, { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 })
  assert.equal(c.services[1]!.healthCheck, undefined, 'no healthCheck unless asked for')
  const rule = c.routes[0]!.rules[0]!
  assert.deepEqual(rule.matches, [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }])
  assert.deepEqual(rule.filters, [])
  assert.deepEqual(rule.backendRefs, [{ name: 'echo', weight: 1 }])
  assert.deepEqual(rule.retry, { attempts: 2, codes: [502, 503, 504], grpcCodes: [], backoff: 25 })
  assert.equal(c.routes[0]!.hostnames, undefined, 'omitted hostnames mean every host')
  assert.deepEqual(c.policies, { authorization: [], rateLimits: [] })
  assert.deepEqual(parseMeshConfig({ mesh: 'empty' }), { mesh: 'empty', services: [], routes: [], policies: { authorization: [], rateLimits: [] } })
})

test('match, header and policy defaults', () => {
  const c = parseMeshConfig({
    ...withRule({ matches: [{ path: { value: '/api' }, headers: [{ name: 'x-a', value: '1' }] }] }),
    policies: { authorization: [{ name: 'p' }], rateLimits: [{ name: 'r', limit: { requests: 5, per: '1s' } }] },
  })
  const m = c.routes[0]!.rules[0]!.matches[0]!
  assert.deepEqual(m.path, { type: 'PathPrefix', value: '/api' })
  assert.equal(m.headers[0]!.type, 'Exact')
  assert.deepEqual(c.policies.authorization[0], { name: 'p', action: 'ALLOW', rules: [] })
  assert.equal(c.policies.rateLimits[0]!.key, 'client-ip')
  assert.deepEqual(c.policies.rateLimits[0]!.limit, { requests: 5, per: 1_000 })
})

test('durations become milliseconds', () => {
  const c = parseMeshConfig(withRule({ timeouts: { request: '1h30m', backendRequest: '500ms' } }))
  assert.deepEqual(c.routes[0]!.rules[0]!.timeouts, { request: 5_400_000, backendRequest: 500 })
  issueAt(withRule({ timeouts: { request: '10 seconds' } }), 'routes[0].rules[0].timeouts.request', /not a duration/)
  const doc = base()
  doc.services[0].healthCheck = { interval: '0s' }
  issueAt(doc, 'services[0].healthCheck.interval', /longer than 0s/)
})

test('endpoints normalize to {url, weight} origins', () => {
  const doc = base()
  doc.services[0].endpoints = ['HTTP://Example.COM:80/', { url: 'https://10.0.0.1:8443' }, { url: 'http://[::1]:9000', weight: 3 }]
  assert.deepEqual(parseMeshConfig(doc).services[0]!.endpoints, [
    { url: 'http://example.com', weight: 1 },
    { url: 'https://10.0.0.1:8443', weight: 1 },
    { url: 'http://[::1]:9000', weight: 3 },
  ])
})

test('endpoints must be bare http(s) origins', () => {
  const at = 'services[0].endpoints[0]'
  for (const [url, why] of [
    ['javascript:alert(1)', /scheme/],
    ['file:///etc/passwd', /scheme/],
    ['ftp://example.com', /scheme/],
    ['127.0.0.1:9001', /scheme|absolute/],
    ['not a url', /absolute URL/],
    ['http://user:pw@example.com', /origin only/],
    ['http://example.com/path', /origin only/],
    ['http://example.com?q=1', /origin only/],
    ['http://example.com#f', /origin only/],
  ] as const) {
    const doc = base()
    doc.services[0].endpoints = [url]
    issueAt(doc, at, why)
    doc.services[0].endpoints = [{ url }]
    issueAt(doc, `${at}.url`, why)
  }
})

test('hostnames are lower-cased and checked', () => {
  const doc = base()
  doc.routes[0].hostnames = ['API.Demo', '*.Example.COM', 'echo']
  assert.deepEqual(parseMeshConfig(doc).routes[0]!.hostnames, ['api.demo', '*.example.com', 'echo'])
  for (const bad of ['a..b', '-a.b', 'a_b', '*', 'a.*.b', 'http://a', 'a b', 'x'.repeat(254)]) {
    doc.routes[0].hostnames = [bad]
    issueAt(doc, 'routes[0].hostnames[0]')
  }
})

test('names are lowercase DNS labels', () => {
  for (const good of ['a', 'a-b', 'x1', 'a'.repeat(63)]) valid({ mesh: good })
  for (const bad of ['', 'A', 'a_b', '-a', 'a-', 'a.b', 'a'.repeat(64)]) issueAt({ mesh: bad }, 'mesh', /DNS label/)
})

test('header names and values are checked', () => {
  issueAt(withRule({ matches: [{ headers: [{ name: 'bad header', value: '1' }] }] }), 'routes[0].rules[0].matches[0].headers[0].name', /header name/)
  const filters = [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-a', value: 'a\r\nInjected: 1' }] } }]
  issueAt(withRule({ filters }), 'routes[0].rules[0].filters[0].requestHeaderModifier.set[0].value', /CR, LF/)
})

test('path match values must be normalized absolute paths', () => {
  const at = 'routes[0].rules[0].matches[0].path.value'
  for (const bad of ['api', '/a//b', '/a/../b', '/a/./b', '/a%2f', '/a?x', '/a#x']) issueAt(withRule({ matches: [{ path: { type: 'PathPrefix', value: bad } }] }), at)
  valid(withRule({ matches: [{ path: { type: 'Exact', value: '/' } }] }))
})

test('regular expressions must compile and stay under the length cap', () => {
  const at = 'routes[0].rules[0].matches[0]'
  issueAt(withRule({ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }] }), `${at}.path.value`, /invalid regular expression/)
  issueAt(withRule({ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '[' }] }] }), `${at}.headers[0].value`, /invalid regular expression/)
  issueAt(withRule({ matches: [{ queryParams: [{ type: 'RegularExpression', name: 'q', value: '*' }] }] }), `${at}.queryParams[0].value`, /invalid regular expression/)
  issueAt(withRule({ matches: [{ path: { type: 'RegularExpression', value: 'a'.repeat(1025) } }] }), `${at}.path.value`, /longer than 1024/)
  valid(withRule({ matches: [{ path: { type: 'RegularExpression', value: 'a'.repeat(1024) } }] }))
  // A regex in a rate-limit match is checked as well.
  const doc = { ...base(), policies: { rateLimits: [{ name: 'r', match: { path: { type: 'RegularExpression', value: '(' } }, limit: { requests: 1, per: '1s' } }] } }
  issueAt(doc, 'policies.rateLimits[0].match.path.value', /invalid regular expression/)
})

test('list caps', () => {
  const headers = Array.from({ length: 17 }, (_, i) => ({ name: `x-${i}`, value: '1' }))
  issueAt(withRule({ matches: [{ headers }] }), 'routes[0].rules[0].matches[0].headers')
  issueAt(withRule({ backendRefs: Array.from({ length: 17 }, () => ({ name: 'echo' })) }), 'routes[0].rules[0].backendRefs')
  issueAt(withRule({ retry: { attempts: 11 } }), 'routes[0].rules[0].retry.attempts')
})

test('CIDRs in authorization policies must parse', () => {
  const doc = { ...base(), policies: { authorization: [{ name: 'p', rules: [{ from: [{ ipBlocks: ['10.0.0.0/8', '10.0.0.0/33'], notIpBlocks: ['nope'] }] }] }] } }
  const at = 'policies.authorization[0].rules[0].from[0]'
  issueAt(doc, `${at}.ipBlocks[1]`, /CIDR/)
  issueAt(doc, `${at}.notIpBlocks[0]`, /CIDR/)
  assert.equal(checkMeshConfig(doc).length, 2)
})

test('identity keys must be public keys', async () => {
  const k = await makeKey('echo-1')
  const doc = base()
  doc.services[0].identity = { keys: [k.publicJwk] }
  valid(doc)
  doc.services[0].identity = { keys: [k.privateJwk] }
  issueAt(doc, 'services[0].identity.keys[0]', /private key/)
  // Identity tokens are EdDSA: a P-256 workload key could never sign one.
  doc.services[0].identity = { keys: [(await makeKey('echo-es', 'ES256')).publicJwk] }
  issueAt(doc, 'services[0].identity.keys[0]', /must be Ed25519/)
})

// ---------------------------------------------------------- cross-references

test('backendRefs and mirrors must name a service', () => {
  issueAt(withRule({ backendRefs: [{ name: 'ghost' }] }), 'routes[0].rules[0].backendRefs[0].name', /no service named "ghost"/)
  const filters = [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'phantom' } } }]
  issueAt(withRule({ filters }), 'routes[0].rules[0].filters[0].requestMirror.backendRef.name', /no service named "phantom"/)
})

test('policy targets and source services must name a service', () => {
  const doc = {
    ...base(),
    policies: {
      authorization: [{ name: 'a', targets: ['ghost'], rules: [{ from: [{ services: ['*', 'nobody'], notServices: ['none'] }] }] }],
      rateLimits: [{ name: 'r', targets: ['echo', 'missing'], limit: { requests: 1, per: '1s' } }],
    },
  }
  issueAt(doc, 'policies.authorization[0].targets[0]', /no service/)
  issueAt(doc, 'policies.authorization[0].rules[0].from[0].services[1]', /"nobody"/)
  issueAt(doc, 'policies.authorization[0].rules[0].from[0].notServices[0]', /"none"/)
  issueAt(doc, 'policies.rateLimits[0].targets[1]', /"missing"/)
  assert.equal(checkMeshConfig(doc).length, 4, '"*" is not a reference')
})

test('names are unique per kind', () => {
  const doc = base()
  doc.services.push({ name: 'echo', endpoints: ['http://127.0.0.1:9003'] })
  doc.routes.push({ name: 'echo', rules: [{ backendRefs: [{ name: 'echo' }] }] })
  doc.policies = {
    authorization: [{ name: 'p' }, { name: 'p' }],
    rateLimits: [{ name: 'p', limit: { requests: 1, per: '1s' } }, { name: 'p', limit: { requests: 1, per: '1s' } }],
  }
  issueAt(doc, 'services[2].name', /duplicate service name "echo" \(first at index 0\)/)
  issueAt(doc, 'routes[1].name', /duplicate route name/)
  issueAt(doc, 'policies.authorization[1].name', /duplicate policy name/)
  issueAt(doc, 'policies.rateLimits[1].name', /duplicate policy name/)
  assert.equal(checkMeshConfig(doc).length, 4, 'an authorization and a rate-limit policy may share a name')
})

test('a workload key belongs to one service only', async () => {
  const k = await makeKey('shared')
  const doc = base()
  doc.services[0].identity = { keys: [k.publicJwk] }
  doc.services[1].identity = { keys: [k.publicJwk] }
  issueAt(doc, 'services[1].identity.keys[0].kid', /already a key of service "echo"/)
})

test('weights may be 0 but not all 0', () => {
  const doc = base()
  doc.services[0].endpoints = [{ url: 'http://127.0.0.1:1', weight: 0 }, { url: 'http://127.0.0.1:2', weight: 0 }]
  issueAt(doc, 'services[0].endpoints', /weight 0/)
  issueAt(withRule({ backendRefs: [{ name: 'echo', weight: 0 }, { name: 'shadow', weight: 0 }] }), 'routes[0].rules[0].backendRefs', /weight 0/)
  valid(withRule({ backendRefs: [{ name: 'echo', weight: 0 }, { name: 'shadow', weight: 1 }] }))
  issueAt(withRule({ backendRefs: [{ name: 'echo', weight: -1 }] }), 'routes[0].rules[0].backendRefs[0].weight')
})

test('filter combinations', () => {
  const at = 'routes[0].rules[0]'
  const mod = { type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['x-a'] } }
  issueAt(withRule({ filters: [mod, mod] }), `${at}.filters[1].type`, /once per rule/)
  const mirror = (name: string) => ({ type: 'RequestMirror', requestMirror: { backendRef: { name } } })
  valid(withRule({ filters: [mirror('shadow'), mirror('echo')] }))
  const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } } }
  const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }
  issueAt(withRule({ filters: [rewrite, redirect] }), `${at}.filters`, /cannot be used together/)
  issueAt(withRule({ matches: [{ path: { type: 'Exact', value: '/a' } }], filters: [rewrite] }), `${at}.filters[0]`, /PathPrefix/)
  valid(withRule({ matches: [{ path: { type: 'PathPrefix', value: '/a' } }], filters: [rewrite] }))
  issueAt(withRule({ filters: [{ type: 'Fault', fault: {} }] }), `${at}.filters[0].fault`, /delay, abort/)
  issueAt(withRule({ filters: [{ type: 'Teleport' }] }), `${at}.filters[0].type`)
})

test('a rule needs backendRefs or a redirect', () => {
  issueAt(withRule({ backendRefs: [] }), 'routes[0].rules[0].backendRefs', /backendRefs or a RequestRedirect/)
  valid(withRule({ backendRefs: [], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }))
})

test('backendRequest timeout may not exceed the request timeout', () => {
  issueAt(withRule({ timeouts: { request: '1s', backendRequest: '2s' } }), 'routes[0].rules[0].timeouts.backendRequest', /not be longer/)
  valid(withRule({ timeouts: { request: '2s', backendRequest: '2s' } }))
})

test('appProtocol and tls: certFile needs keyFile, and services sharing an endpoint agree on both', () => {
  const doc = base()
  doc.services[0].appProtocol = 'h2c'
  doc.services[0].tls = { certFile: '/etc/legate/client.pem' }
  issueAt(doc, 'services[0].tls', /certFile and keyFile go together/)
  doc.services[0].tls = { certFile: '/c.pem', keyFile: '/k.pem', serverName: 'api.internal' }
  valid(doc)
  doc.services[1].endpoints = ['http://127.0.0.1:9001'] // the same origin as echo's, spoken to as HTTP/1.1
  issueAt(doc, 'services[1].endpoints[0]', /also an endpoint of service "echo"/)
  doc.services[1].appProtocol = 'h2c'
  doc.services[1].tls = { serverName: 'api.internal', certFile: '/c.pem', keyFile: '/k.pem' }
  valid(doc) // the same settings, written in another key order, agree
  issueAt(withRule({ maxRequestBodyBytes: -1 }), 'routes[0].rules[0].maxRequestBodyBytes')
  valid(withRule({ maxRequestBodyBytes: 0 }))
})
