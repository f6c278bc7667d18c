// Routing cases translated from the Kubernetes Gateway API conformance suite
// (kubernetes-sigs/gateway-api conformance/tests/httproute-*.yaml and *.go): the same route
// shapes and the same requests, with infra-backend-v1/v2/v3 as services v1/v2/v3. Listener
// hostnames become route hostnames (a mesh has no Gateway listeners), and the last suites
// cover what legate adds: implicit service routes and hostname precedence with fall-through.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMeshConfig } from '../../../../protocol/validate.ts'
import { compileRoutes } from '../../../../worker/route/compile.ts'
import type { RouteTable } from '../../../../worker/route/types.ts'

interface Case {
  host?: string
  /** Path with an optional `?query`, as the conformance tests write it. */
  path: string
  method?: string
  headers?: Record<string, string>
  scheme?: 'http' | 'https'
  /** Expected service; omit with `noRoute`, `redirect` or when only `rewrite` matters. */
  backend?: string
  noRoute?: true
  redirect?: { status: number; location: string }
  rewrite?: { host: string; path: string }
}

const SERVICES = ['v1', 'v2', 'v3', 'echo', 'users'].map((name) => ({ name, endpoints: [`http://127.0.0.1:${9000}`] }))

function table(routes: unknown[]): RouteTable {
  return compileRoutes(parseMeshConfig({ mesh: 'demo', services: SERVICES, routes }))
}

/** One rule of the shorthand: `[matches, backend]` or `[matches, backend, filters]`. */
function rules(...list: [unknown[] | undefined, string | undefined, unknown[]?][]) {
  return list.map(([matches, backend, filters]) => ({
    ...(matches ? { matches } : {}),
    ...(backend ? { backendRefs: [{ name: backend }] } : {}),
    ...(filters ? { filters } : {}),
  }))
}
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } })
const exact = (value: string) => ({ path: { type: 'Exact', value } })
const hdr = (name: string, value: string, type = 'Exact') => ({ name, value, type })

function run(t: RouteTable, c: Case) {
  const q = c.path.indexOf('?')
  const path = q < 0 ? c.path : c.path.slice(0, q)
  const query = q < 0 ? '' : c.path.slice(q + 1)
  const host = c.host ?? 'example.com'
  const hit = t.match({ host, path, query, method: c.method ?? 'GET', headers: new Headers(c.headers ?? {}) })
  if (c.noRoute) {
    assert.equal(hit, undefined, `expected no route, got ${hit?.rule.route}[${hit?.rule.index}]`)
    return
  }
  assert.ok(hit, 'expected a route, got none')
  if (c.backend !== undefined) assert.equal(hit.rule.pickBackend(), c.backend)
  if (c.redirect) {
    assert.ok(hit.rule.redirect, 'expected a redirect rule')
    assert.deepEqual(hit.rule.redirect({ scheme: c.scheme ?? 'http', host, path, query }, hit.matchedPrefix), c.redirect)
  }
  if (c.rewrite) {
    assert.ok(hit.rule.rewrite, 'expected a rewrite rule')
    assert.deepEqual(hit.rule.rewrite({ host, path }, hit.matchedPrefix), c.rewrite)
  }
}

function label(c: Case): string {
  const parts = [c.method && c.method !== 'GET' ? c.method : '', `${c.host ?? ''}${c.path}`]
  if (c.headers) parts.push(JSON.stringify(c.headers))
  const want = c.noRoute ? '404' : c.redirect ? `${c.redirect.status} ${c.redirect.location}` : c.rewrite ? `→ ${c.rewrite.host}${c.rewrite.path}` : `→ ${c.backend}`
  return `${parts.filter(Boolean).join(' ')} ${want}`
}

let total = 0
function suite(name: string, routes: unknown[], cases: Case[]) {
  total += cases.length
  describe(name, () => {
    const t = table(routes)
    for (const c of cases) test(label(c), () => run(t, c))
  })
}

suite('HTTPRouteMatching', [{ name: 'matching', rules: rules([[prefix('/'), { headers: [hdr('version', 'one')] }], 'v1'], [[prefix('/v2'), { headers: [hdr('version', 'two')] }], 'v2']) }], [
  { path: '/', backend: 'v1' },
  { path: '/example', backend: 'v1' },
  { path: '/', headers: { Version: 'one' }, backend: 'v1' },
  { path: '/v2', backend: 'v2' },
  { path: '/v2/example', backend: 'v2' },
  { path: '/', headers: { Version: 'two' }, backend: 'v2' },
  { path: '/v2/', backend: 'v2' },
  { path: '/v2example', backend: 'v1' },
  { path: '/foo/v2/example', backend: 'v1' },
])

suite('HTTPRouteExactPathMatching', [{ name: 'exact-matching', rules: rules([[exact('/one')], 'v1'], [[exact('/two')], 'v2']) }], [
  { path: '/one', backend: 'v1' },
  { path: '/two', backend: 'v2' },
  { path: '/', noRoute: true },
  { path: '/one/example', noRoute: true },
  { path: '/two/', noRoute: true },
  { path: '/Two', noRoute: true },
])

suite(
  'HTTPRoutePathMatchOrder',
  [{ name: 'path-matching-order', rules: rules([[exact('/match')], 'v1'], [[exact('/match/exact')], 'v2'], [[exact('/match/exact/one')], 'v3'], [[prefix('/match/')], 'v3'], [[prefix('/match/prefix/')], 'v1'], [[prefix('/match/prefix/one')], 'v2']) }],
  [
    { path: '/match/exact/one', backend: 'v3' },
    { path: '/match/exact', backend: 'v2' },
    { path: '/match', backend: 'v1' },
    { path: '/match/prefix/one/any', backend: 'v2' },
    { path: '/match/prefix/any', backend: 'v1' },
    { path: '/match/any', backend: 'v3' },
    // legate: a trailing slash in the prefix value is ignored, so /match/ also covers /match/exact/
    { path: '/match/exact/', backend: 'v3' },
  ],
)

suite(
  'HTTPRouteHeaderMatching',
  [
    {
      name: 'header-matching',
      rules: rules(
        [[{ headers: [hdr('version', 'one')] }], 'v1'],
        [[{ headers: [hdr('version', 'two')] }], 'v2'],
        [[{ headers: [hdr('version', 'two'), hdr('color', 'orange')] }], 'v1'],
        [[{ headers: [hdr('color', 'blue')] }, { headers: [hdr('color', 'green')] }], 'v1'],
        [[{ headers: [hdr('color', 'red')] }, { headers: [hdr('color', 'yellow')] }], 'v2'],
        [[{ headers: [hdr('X-Build', 'v[0-9]+\\.[0-9]+', 'RegularExpression')] }], 'v3'],
      ),
    },
  ],
  [
    { path: '/', headers: { Version: 'one' }, backend: 'v1' },
    { path: '/', headers: { Version: 'two' }, backend: 'v2' },
    { path: '/', headers: { Version: 'two', Color: 'orange' }, backend: 'v1' },
    { path: '/', headers: { Version: 'two', Color: 'blue' }, backend: 'v2' },
    { path: '/', headers: { Color: 'orange' }, noRoute: true },
    { path: '/', headers: { 'Some-Other-Header': 'one' }, noRoute: true },
    { path: '/', headers: { Color: 'blue' }, backend: 'v1' },
    { path: '/', headers: { Color: 'green' }, backend: 'v1' },
    { path: '/', headers: { Color: 'red' }, backend: 'v2' },
    { path: '/', headers: { Color: 'yellow' }, backend: 'v2' },
    { path: '/', headers: { Color: 'purple' }, noRoute: true },
    // header values compare case-sensitively
    { path: '/', headers: { Version: 'ONE' }, noRoute: true },
    // a RegularExpression must match the whole value
    { path: '/', headers: { 'x-build': 'v1.2' }, backend: 'v3' },
    { path: '/', headers: { 'x-build': 'v1.2-rc' }, noRoute: true },
  ],
)

suite(
  'HTTPRouteQueryParamMatching',
  [
    {
      name: 'query-param-matching',
      rules: [
        ...rules(
          [[{ queryParams: [hdr('animal', 'whale')] }], 'v1'],
          [[{ queryParams: [hdr('animal', 'dolphin')] }], 'v2'],
          [[{ queryParams: [hdr('animal', 'dolphin'), hdr('color', 'blue')] }, { queryParams: [hdr('ANIMAL', 'Whale')] }], 'v3'],
          [[{ ...prefix('/path1'), queryParams: [hdr('animal', 'whale')] }], 'v1'],
          [[{ headers: [hdr('version', 'one')], queryParams: [hdr('animal', 'whale')] }], 'v2'],
          [[{ ...prefix('/path2'), headers: [hdr('version', 'two')], queryParams: [hdr('animal', 'whale')] }], 'v3'],
          [[{ ...prefix('/path3'), queryParams: [hdr('animal', 'shark')] }, { ...prefix('/path4'), headers: [hdr('version', 'three')], queryParams: [hdr('animal', 'kraken')] }], 'v1'],
          [[prefix('/path5')], 'v1'],
          [[{ queryParams: [hdr('animal', 'hydra')] }], 'v2'],
          [[{ headers: [hdr('version', 'four')] }], 'v3'],
        ),
      ],
    },
  ],
  [
    { path: '/?animal=whale', backend: 'v1' },
    { path: '/?animal=dolphin', backend: 'v2' },
    { path: '/?animal=dolphin&color=blue', backend: 'v3' },
    { path: '/?ANIMAL=Whale', backend: 'v3' },
    { path: '/?animal=whale&otherparam=irrelevant', backend: 'v1' },
    { path: '/?animal=dolphin&color=yellow', backend: 'v2' },
    { path: '/?color=blue', noRoute: true },
    { path: '/?animal=dog', noRoute: true },
    { path: '/?animal=whaledolphin', noRoute: true },
    { path: '/', noRoute: true },
    { path: '/path1?animal=whale', backend: 'v1' },
    { path: '/?animal=whale', headers: { version: 'one' }, backend: 'v2' },
    { path: '/path2?animal=whale', headers: { version: 'two' }, backend: 'v3' },
    { path: '/path3?animal=shark', backend: 'v1' },
    { path: '/path4?animal=kraken', headers: { version: 'three' }, backend: 'v1' },
    { path: '/?animal=shark', noRoute: true },
    { path: '/path4?animal=kraken', noRoute: true },
    { path: '/path5?animal=hydra', backend: 'v1' },
    { path: '/?animal=hydra', headers: { version: 'four' }, backend: 'v3' },
    // legate: the first value of a repeated name decides; values are form-decoded
    { path: '/?animal=dolphin&animal=whale', backend: 'v2' },
    { path: '/?animal=%77hale', backend: 'v1' },
  ],
)

suite(
  'HTTPRouteMethodMatching',
  [
    {
      name: 'method-matching',
      rules: rules(
        [[{ method: 'POST' }], 'v1'],
        [[{ method: 'GET' }], 'v2'],
        [[{ ...prefix('/path1'), method: 'GET' }], 'v1'],
        [[{ headers: [hdr('version', 'one')], method: 'PUT' }], 'v2'],
        [[{ ...prefix('/path2'), headers: [hdr('version', 'two')], method: 'POST' }], 'v3'],
        [[{ ...prefix('/path3'), method: 'PATCH' }, { ...prefix('/path4'), headers: [hdr('version', 'three')], method: 'DELETE' }], 'v1'],
        [[prefix('/path5')], 'v1'],
        [[{ method: 'PATCH' }], 'v2'],
        [[{ headers: [hdr('version', 'four')] }], 'v3'],
      ),
    },
  ],
  [
    { method: 'POST', path: '/', backend: 'v1' },
    { method: 'GET', path: '/', backend: 'v2' },
    { method: 'HEAD', path: '/', noRoute: true },
    { method: 'GET', path: '/path1', backend: 'v1' },
    { method: 'PUT', path: '/', headers: { version: 'one' }, backend: 'v2' },
    { method: 'POST', path: '/path2', headers: { version: 'two' }, backend: 'v3' },
    { method: 'PATCH', path: '/path3', backend: 'v1' },
    { method: 'DELETE', path: '/path4', headers: { version: 'three' }, backend: 'v1' },
    { method: 'PUT', path: '/', noRoute: true },
    { method: 'DELETE', path: '/path4', noRoute: true },
    { method: 'PATCH', path: '/path5', backend: 'v1' },
    { method: 'PATCH', path: '/', headers: { version: 'four' }, backend: 'v2' },
  ],
)

suite(
  'HTTPRouteMatchingAcrossRoutes',
  [
    { name: 'matching-part1', hostnames: ['example.com', 'example.net'], rules: rules([[prefix('/'), { headers: [hdr('version', 'one')] }], 'v1']) },
    { name: 'matching-part2', hostnames: ['example.com'], rules: rules([[prefix('/v2'), { headers: [hdr('version', 'two')] }], 'v2']) },
  ],
  [
    { host: 'example.com', path: '/', backend: 'v1' },
    { host: 'example.com', path: '/example', backend: 'v1' },
    { host: 'example.net', path: '/example', backend: 'v1' },
    { host: 'example.com', path: '/example', headers: { Version: 'one' }, backend: 'v1' },
    { host: 'example.com', path: '/v2', backend: 'v2' },
    { host: 'example.net', path: '/v2', backend: 'v1' },
    { host: 'example.com', path: '/v2/example', backend: 'v2' },
    { host: 'example.com', path: '/', headers: { Version: 'two' }, backend: 'v2' },
  ],
)

suite(
  'HTTPRouteHostnameIntersection (route hostnames)',
  [
    { name: 'specific', hostnames: ['non.matching.com', '*.nonmatchingwildcard.io', 'very.specific.com'], rules: rules([[prefix('/s1')], 'v1']) },
    { name: 'wildcard', hostnames: ['*.wildcard.io'], rules: rules([[prefix('/s2')], 'v2']) },
    { name: 'wildcard-specific', hostnames: ['*.specific.com'], rules: rules([[prefix('/s3')], 'v3']) },
  ],
  [
    { host: 'very.specific.com', path: '/s1', backend: 'v1' },
    { host: 'very.specific.com:1234', path: '/s1', backend: 'v1' },
    { host: 'VERY.Specific.COM', path: '/s1', backend: 'v1' },
    { host: 'very.specific.com.', path: '/s1', backend: 'v1' },
    { host: 'foo.wildcard.io', path: '/s1', noRoute: true },
    { host: 'very.specific.com', path: '/non-matching-prefix', noRoute: true },
    { host: 'foo.wildcard.io', path: '/s2', backend: 'v2' },
    { host: 'foo.bar.wildcard.io', path: '/s2', backend: 'v2' },
    { host: 'Foo.Wildcard.IO:8080', path: '/s2', backend: 'v2' },
    { host: 'wildcard.io', path: '/s2', noRoute: true },
    { host: 'foowildcard.io', path: '/s2', noRoute: true },
    { host: 'very.specific.com', path: '/s3', backend: 'v3' },
    { host: 'foo.specific.com', path: '/s1', noRoute: true },
    { host: 'specific.com', path: '/s3', noRoute: true },
  ],
)

suite(
  'HTTPRouteListenerHostnameMatching (exact over wildcard)',
  [
    { name: 'backend-v1', hostnames: ['bar.com'], rules: rules([undefined, 'v1']) },
    { name: 'backend-v2', hostnames: ['foo.bar.com'], rules: rules([undefined, 'v2']) },
    { name: 'backend-v3', hostnames: ['*.bar.com', '*.foo.com'], rules: rules([undefined, 'v3']) },
  ],
  [
    { host: 'bar.com', path: '/', backend: 'v1' },
    { host: 'foo.bar.com', path: '/', backend: 'v2' },
    { host: 'baz.bar.com', path: '/', backend: 'v3' },
    { host: 'boo.bar.com', path: '/', backend: 'v3' },
    { host: 'multiple.prefixes.bar.com', path: '/', backend: 'v3' },
    { host: 'multiple.prefixes.foo.com', path: '/', backend: 'v3' },
    { host: 'foo.com', path: '/', noRoute: true },
    { host: 'no.matching.host', path: '/', noRoute: true },
  ],
)

suite(
  'Hostname precedence: exact > longer wildcard > shorter wildcard > catch-all, falling through',
  [
    { name: 'any-host', rules: rules([[prefix('/')], 'v3']) },
    { name: 'short-wildcard', hostnames: ['*.example.com'], rules: rules([[prefix('/')], 'v2']) },
    { name: 'long-wildcard', hostnames: ['*.api.example.com'], rules: rules([[prefix('/api')], 'v1']) },
    { name: 'exact-host', hostnames: ['www.api.example.com'], rules: rules([[exact('/only')], 'echo']) },
    { name: 'ipv6', hostnames: ['ipv6.example.com'], rules: rules([[prefix('/')], 'users']) },
  ],
  [
    // an exact hostname wins even against a longer path of a wildcard route
    { host: 'www.api.example.com', path: '/only', backend: 'echo' },
    { host: 'www.api.example.com', path: '/api/x', backend: 'v1' },
    { host: 'www.api.example.com', path: '/other', backend: 'v2' },
    { host: 'x.y.api.example.com', path: '/api', backend: 'v1' },
    { host: 'api.example.com', path: '/api', backend: 'v2' },
    { host: 'example.com', path: '/', backend: 'v3' },
    { host: '[::1]:8080', path: '/', backend: 'v3' },
    { host: '', path: '/', backend: 'v3' },
  ],
)

suite(
  'Implicit service routes and no_route',
  [
    { name: 'users-route', hostnames: ['users'], rules: rules([[prefix('/accounts')], 'users']) },
    { name: 'wild', hostnames: ['*.demo'], rules: rules([[prefix('/wild')], 'v3']) },
  ],
  [
    { host: 'echo', path: '/anything', backend: 'echo' },
    { host: 'echo.demo', path: '/', backend: 'echo' },
    { host: 'ECHO.Demo:15001', path: '/x', backend: 'echo' },
    // a wildcard does not list the service's name: the implicit route still decides
    { host: 'echo.demo', path: '/wild', backend: 'echo' },
    // once a route lists the hostname, its rules decide; no match is no_route
    { host: 'users', path: '/accounts/1', backend: 'users' },
    { host: 'users', path: '/other', noRoute: true },
    // users.demo is not listed, so it keeps its implicit route
    { host: 'users.demo', path: '/other', backend: 'users' },
    { host: 'unknown', path: '/', noRoute: true },
    { host: 'echo.other-mesh', path: '/', noRoute: true },
    { host: 'x.demo', path: '/wild/1', backend: 'v3' },
  ],
)

suite(
  'Path precedence across rules and routes: Exact > longest PathPrefix > RegularExpression > method > headers > query > order',
  [
    {
      name: 'first',
      hostnames: ['p.example'],
      rules: rules(
        [[{ path: { type: 'RegularExpression', value: '/items/[0-9]+' } }], 'v3'],
        [[{ ...prefix('/items'), method: 'POST' }], 'v2'],
        [[prefix('/items')], 'v1'],
        [[{ ...prefix('/h'), headers: [hdr('a', '1')] }], 'v1'],
        [[{ ...prefix('/h'), queryParams: [hdr('q', '1')] }], 'v2'],
        [[{ path: { type: 'RegularExpression', value: '/re/.*' }, headers: [hdr('a', '1')] }], 'v1'],
        [[{ path: { type: 'RegularExpression', value: '/re/[a-z]+' } }], 'v2'],
      ),
    },
    { name: 'second', hostnames: ['p.example'], rules: rules([[exact('/items/7')], 'echo'], [[prefix('/items')], 'users']) },
  ],
  [
    { host: 'p.example', path: '/items/7', backend: 'echo' },
    { host: 'p.example', path: '/items/8', backend: 'v1' },
    { method: 'POST', host: 'p.example', path: '/items/8', backend: 'v2' },
    { host: 'p.example', path: '/h?q=1', headers: { a: '1' }, backend: 'v1' },
    { host: 'p.example', path: '/h?q=1', backend: 'v2' },
    { host: 'p.example', path: '/re/abc', headers: { a: '1' }, backend: 'v1' },
    { host: 'p.example', path: '/re/abc', backend: 'v2' },
    { host: 'p.example', path: '/re/ABC', noRoute: true },
  ],
)

suite(
  'HTTPRouteRewritePath and HTTPRouteRewriteHost',
  [
    {
      name: 'rewrite-path',
      hostnames: ['rewrite.example'],
      rules: rules(
        [[prefix('/prefix/one')], 'v1', [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/one' } } }]],
        [[prefix('/strip-prefix')], 'v1', [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }]],
        [[prefix('/full/one')], 'v1', [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/one' } } }]],
        [[prefix('/host')], 'v1', [{ type: 'URLRewrite', urlRewrite: { hostname: 'one.example.org' } }]],
        [[prefix('/trailing/')], 'v2', [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/xyz/' } } }]],
      ),
    },
  ],
  [
    { host: 'rewrite.example', path: '/prefix/one/two', backend: 'v1', rewrite: { host: 'rewrite.example', path: '/one/two' } },
    { host: 'rewrite.example', path: '/strip-prefix/three', rewrite: { host: 'rewrite.example', path: '/three' } },
    { host: 'rewrite.example', path: '/strip-prefix', rewrite: { host: 'rewrite.example', path: '/' } },
    { host: 'rewrite.example', path: '/full/one/two', rewrite: { host: 'rewrite.example', path: '/one' } },
    { host: 'rewrite.example', path: '/host/a', rewrite: { host: 'one.example.org', path: '/host/a' } },
    { host: 'rewrite.example', path: '/trailing/bar', backend: 'v2', rewrite: { host: 'rewrite.example', path: '/xyz/bar' } },
    { host: 'rewrite.example', path: '/trailing', rewrite: { host: 'rewrite.example', path: '/xyz' } },
  ],
)

const redirect = (requestRedirect: object) => [{ type: 'RequestRedirect', requestRedirect }]
suite(
  'HTTPRouteRedirectPath, HostAndStatus, Scheme, Port',
  [
    {
      name: 'redirects',
      rules: rules(
        [[prefix('/original-prefix')], undefined, redirect({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' } })],
        [[prefix('/full')], undefined, redirect({ path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } })],
        [[prefix('/path-and-host')], undefined, redirect({ hostname: 'example.org', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' } })],
        [[prefix('/path-and-status')], undefined, redirect({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' }, statusCode: 301 })],
        [[prefix('/hostname-redirect')], undefined, redirect({ hostname: 'example.org' })],
        [[prefix('/host-and-status')], undefined, redirect({ hostname: 'example.org', statusCode: 301 })],
        [[prefix('/scheme')], undefined, redirect({ scheme: 'https' })],
        [[prefix('/scheme-and-host')], undefined, redirect({ scheme: 'https', hostname: 'example.org' })],
        [[prefix('/port')], undefined, redirect({ port: 8083 })],
        [[prefix('/port-and-host-and-status')], undefined, redirect({ port: 8083, hostname: 'example.org', statusCode: 302 })],
      ),
    },
  ],
  [
    { path: '/original-prefix/lemon', redirect: { status: 302, location: 'http://example.com/replacement-prefix/lemon' } },
    { path: '/full/path/original', redirect: { status: 302, location: 'http://example.com/full-path-replacement' } },
    { path: '/path-and-host', redirect: { status: 302, location: 'http://example.org/replacement-prefix' } },
    { path: '/path-and-status', redirect: { status: 301, location: 'http://example.com/replacement-prefix' } },
    { path: '/hostname-redirect?a=1&b=2', redirect: { status: 302, location: 'http://example.org/hostname-redirect?a=1&b=2' } },
    { path: '/host-and-status', redirect: { status: 301, location: 'http://example.org/host-and-status' } },
    { path: '/scheme', redirect: { status: 302, location: 'https://example.com/scheme' } },
    { host: 'example.com:8080', path: '/scheme-and-host', redirect: { status: 302, location: 'https://example.org/scheme-and-host' } },
    { path: '/port', redirect: { status: 302, location: 'http://example.com:8083/port' } },
    { path: '/port-and-host-and-status', redirect: { status: 302, location: 'http://example.org:8083/port-and-host-and-status' } },
  ],
)

suite(
  'HTTPRouteRedirectPortAndScheme (listener port from the Host header)',
  [
    {
      name: 'port-and-scheme',
      rules: rules(
        [[prefix('/scheme-nil-and-port-nil')], undefined, redirect({ hostname: 'example.org' })],
        [[prefix('/scheme-nil-and-port-80')], undefined, redirect({ hostname: 'example.org', port: 80 })],
        [[prefix('/scheme-nil-and-port-443')], undefined, redirect({ hostname: 'example.org', port: 443 })],
        [[prefix('/scheme-https-and-port-nil')], undefined, redirect({ scheme: 'https', hostname: 'example.org' })],
        [[prefix('/scheme-https-and-port-443')], undefined, redirect({ scheme: 'https', hostname: 'example.org', port: 443 })],
        [[prefix('/scheme-https-and-port-8443')], undefined, redirect({ scheme: 'https', hostname: 'example.org', port: 8443 })],
        [[prefix('/scheme-http-and-port-nil')], undefined, redirect({ scheme: 'http', hostname: 'example.org' })],
      ),
    },
  ],
  [
    { path: '/scheme-nil-and-port-nil', redirect: { status: 302, location: 'http://example.org/scheme-nil-and-port-nil' } },
    { host: 'example.com:8080', path: '/scheme-nil-and-port-nil', redirect: { status: 302, location: 'http://example.org:8080/scheme-nil-and-port-nil' } },
    { host: 'example.com:8080', path: '/scheme-nil-and-port-80', redirect: { status: 302, location: 'http://example.org/scheme-nil-and-port-80' } },
    { host: 'example.com:8080', path: '/scheme-https-and-port-nil', redirect: { status: 302, location: 'https://example.org/scheme-https-and-port-nil' } },
    { path: '/scheme-https-and-port-443', redirect: { status: 302, location: 'https://example.org/scheme-https-and-port-443' } },
    { path: '/scheme-https-and-port-8443', redirect: { status: 302, location: 'https://example.org:8443/scheme-https-and-port-8443' } },
    { scheme: 'https', path: '/scheme-nil-and-port-nil', redirect: { status: 302, location: 'https://example.org/scheme-nil-and-port-nil' } },
    { scheme: 'https', path: '/scheme-nil-and-port-443', redirect: { status: 302, location: 'https://example.org/scheme-nil-and-port-443' } },
    { scheme: 'https', host: 'example.com:8443', path: '/scheme-nil-and-port-nil', redirect: { status: 302, location: 'https://example.org:8443/scheme-nil-and-port-nil' } },
    { scheme: 'https', host: 'example.com:443', path: '/scheme-http-and-port-nil', redirect: { status: 302, location: 'http://example.org/scheme-http-and-port-nil' } },
  ],
)

test('the table holds at least 40 routing cases', () => {
  assert.ok(total >= 40, `only ${total} cases`)
})
