/**
 * Authorization acceptance (issue 7, §1): Istio AuthorizationPolicy semantics through a
 * real ambassador's inbound listener (service `reviews`), callers proving who they are
 * with real identity tokens. Each group applies its policies as a new config version,
 * then every case is one request over a socket: 200 from the app, or 403 `forbidden`.
 * Istio documentation examples are translated: principals/namespaces → services,
 * `request.headers[x]` → `header`, `source.ip` → ipBlocks.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createMesh, startInbound, type Caller, type Inbound, type Mesh } from './fixtures.ts'

interface Case {
  name: string
  method?: string
  path?: string
  headers?: Record<string, string>
  as?: Caller
  expect: 200 | 403
}
interface Group {
  name: string
  policies: unknown[]
  cases: Case[]
  /** Run against the IPv6 ambassador (client ::1) instead of the IPv4 one (client 127.0.0.1). */
  ipv6?: boolean
}

const groups: Group[] = [
  {
    name: 'no policy: everything is allowed',
    policies: [],
    cases: [
      { name: 'anonymous GET', expect: 200 },
      { name: 'authenticated DELETE', method: 'DELETE', path: '/x', as: 'batch', expect: 200 },
    ],
  },
  {
    name: 'Istio "allow-nothing": ALLOW without rules',
    policies: [{ name: 'allow-nothing', targets: ['reviews'], action: 'ALLOW' }],
    cases: [
      { name: 'anonymous', expect: 403 },
      { name: 'authenticated', as: 'frontend', expect: 403 },
    ],
  },
  {
    name: 'Istio "allow-all": ALLOW with rules: [{}]',
    policies: [{ name: 'allow-all', action: 'ALLOW', rules: [{}] }],
    cases: [
      { name: 'anonymous', expect: 200 },
      { name: 'any method and path', method: 'PATCH', path: '/anything/at/all', as: 'ratings', expect: 200 },
    ],
  },
  {
    name: 'Istio "deny-all": DENY with rules: [{}], even beside allow-all',
    policies: [
      { name: 'allow-all', action: 'ALLOW', rules: [{}] },
      { name: 'deny-all', action: 'DENY', rules: [{}] },
    ],
    cases: [
      { name: 'anonymous', expect: 403 },
      { name: 'authenticated', as: 'frontend', expect: 403 },
    ],
  },
  {
    name: 'a policy for another service does not apply',
    policies: [{ name: 'ratings-deny-all', targets: ['ratings'], action: 'DENY', rules: [{}] }, { name: 'ratings-nothing', targets: ['ratings'] }],
    cases: [{ name: 'reviews stays open', expect: 200 }],
  },
  {
    // Istio: httpbin allows GET from principal "sleep" and namespace "dev", with a claim condition.
    name: 'Istio httpbin example: from principals/namespaces, GET only, with a condition',
    policies: [
      {
        name: 'httpbin',
        targets: ['reviews'],
        action: 'ALLOW',
        rules: [{ from: [{ services: ['frontend'] }, { services: ['batch'] }], to: [{ methods: ['GET'] }], when: [{ header: 'x-issuer', values: ['https://accounts.google.com'] }] }],
      },
    ],
    cases: [
      { name: 'frontend GET with the header', as: 'frontend', headers: { 'x-issuer': 'https://accounts.google.com' }, expect: 200 },
      { name: 'batch GET with the header (second from entry)', as: 'batch', headers: { 'x-issuer': 'https://accounts.google.com' }, expect: 200 },
      { name: 'frontend POST', method: 'POST', as: 'frontend', headers: { 'x-issuer': 'https://accounts.google.com' }, expect: 403 },
      { name: 'frontend without the header', as: 'frontend', expect: 403 },
      { name: 'frontend with another issuer', as: 'frontend', headers: { 'x-issuer': 'https://evil.example' }, expect: 403 },
      { name: 'ratings (not listed)', as: 'ratings', headers: { 'x-issuer': 'https://accounts.google.com' }, expect: 403 },
      { name: 'anonymous', headers: { 'x-issuer': 'https://accounts.google.com' }, expect: 403 },
      { name: 'anonymous claiming x-legate-source: frontend', headers: { 'x-issuer': 'https://accounts.google.com', 'x-legate-source': 'frontend' }, expect: 403 },
    ],
  },
  {
    // Istio: deny requests to /admin unless they come from the admin namespace.
    name: 'Istio DENY with notNamespaces: /admin only from admin-ui',
    policies: [{ name: 'admin-only', action: 'DENY', rules: [{ from: [{ notServices: ['admin-ui'] }], to: [{ paths: ['/admin', '/admin/*'] }] }] }],
    cases: [
      { name: 'admin-ui to /admin', path: '/admin', as: 'admin-ui', expect: 200 },
      { name: 'admin-ui to /admin/users', path: '/admin/users', as: 'admin-ui', expect: 200 },
      { name: 'frontend to /admin', path: '/admin', as: 'frontend', expect: 403 },
      { name: 'anonymous to /admin/users', path: '/admin/users', expect: 403 },
      { name: 'frontend to /public', path: '/public', as: 'frontend', expect: 200 },
      { name: 'bypass attempt //admin', path: '//admin', as: 'frontend', expect: 403 },
      { name: 'bypass attempt /%61dmin', path: '/%61dmin', as: 'frontend', expect: 403 },
      { name: 'bypass attempt /public/../admin', path: '/public/../admin', as: 'frontend', expect: 403 },
      { name: 'bypass attempt /admin?x=1 (query is not part of the path)', path: '/admin?x=1', as: 'frontend', expect: 403 },
    ],
  },
  {
    name: 'paths: exact, prefix*, *suffix; notPaths inside the same operation',
    policies: [
      {
        name: 'paths',
        action: 'ALLOW',
        rules: [{ to: [{ paths: ['/exact', '/api/*', '*.png'], notPaths: ['/api/internal*'] }] }],
      },
    ],
    cases: [
      { name: '/exact', path: '/exact', expect: 200 },
      { name: '/exact/more is not exact', path: '/exact/more', expect: 403 },
      { name: '/api/v1/items by prefix', path: '/api/v1/items', expect: 200 },
      { name: '/api without the slash is not the prefix /api/', path: '/api', expect: 403 },
      { name: '/img/logo.png by suffix', path: '/img/logo.png', expect: 200 },
      { name: '/api/internal/x excluded by notPaths', path: '/api/internal/x', expect: 403 },
      { name: '/other', path: '/other', expect: 403 },
    ],
  },
  {
    name: 'methods and notMethods',
    policies: [{ name: 'read-only', action: 'ALLOW', rules: [{ to: [{ methods: ['GET', 'HEAD'] }] }, { to: [{ notMethods: ['GET', 'HEAD', 'DELETE', 'POST', 'PATCH'], paths: ['/upload'] }] }] }],
    cases: [
      { name: 'GET', expect: 200 },
      { name: 'HEAD', method: 'HEAD', expect: 200 },
      { name: 'POST', method: 'POST', expect: 403 },
      { name: 'PUT /upload (second rule)', method: 'PUT', path: '/upload', expect: 200 },
      { name: 'DELETE /upload (excluded by notMethods)', method: 'DELETE', path: '/upload', expect: 403 },
    ],
  },
  {
    name: 'services "*" is any authenticated caller',
    policies: [{ name: 'authenticated', action: 'ALLOW', rules: [{ from: [{ services: ['*'] }] }] }],
    cases: [
      { name: 'anonymous', expect: 403 },
      { name: 'frontend', as: 'frontend', expect: 200 },
      { name: 'ratings', as: 'ratings', expect: 200 },
      { name: 'anonymous with a forged x-legate-source: admin', headers: { 'x-legate-source': 'admin' }, expect: 403 },
    ],
  },
  {
    name: 'when: values and notValues (with * patterns)',
    policies: [{ name: 'tenants', action: 'ALLOW', rules: [{ when: [{ header: 'x-tenant', values: ['a', 'b', 'team-*'], notValues: ['team-blocked'] }] }] }],
    cases: [
      { name: 'tenant a', headers: { 'x-tenant': 'a' }, expect: 200 },
      { name: 'tenant team-red', headers: { 'x-tenant': 'team-red' }, expect: 200 },
      { name: 'tenant team-blocked', headers: { 'x-tenant': 'team-blocked' }, expect: 403 },
      { name: 'tenant c', headers: { 'x-tenant': 'c' }, expect: 403 },
      { name: 'no tenant header', expect: 403 },
    ],
  },
  {
    name: 'DENY on a header (Istio "deny requests with a header")',
    policies: [{ name: 'no-debug', action: 'DENY', rules: [{ when: [{ header: 'x-debug', values: ['*'] }] }] }],
    cases: [
      { name: 'with x-debug', headers: { 'x-debug': '1' }, expect: 403 },
      { name: 'without x-debug', expect: 200 },
    ],
  },
  {
    name: 'from: all fields of one entry must match; entries are alternatives',
    policies: [
      {
        name: 'frontend-from-loopback',
        action: 'ALLOW',
        rules: [{ from: [{ services: ['frontend'], ipBlocks: ['127.0.0.0/8'] }, { services: ['batch'], ipBlocks: ['10.0.0.0/8'] }] }],
      },
    ],
    cases: [
      { name: 'frontend from 127.0.0.1', as: 'frontend', expect: 200 },
      { name: 'batch from 127.0.0.1 (its entry wants 10/8)', as: 'batch', expect: 403 },
      { name: 'anonymous from 127.0.0.1', expect: 403 },
    ],
  },
  {
    // Istio: allow only from an IP allow-list (source.ip / ipBlocks).
    name: 'Istio ipBlocks allow-list and notIpBlocks (IPv4)',
    policies: [
      { name: 'ip-allow', action: 'ALLOW', rules: [{ from: [{ ipBlocks: ['1.2.3.4', '127.0.0.0/24'] }] }] },
      { name: 'ip-deny', action: 'DENY', rules: [{ from: [{ notIpBlocks: ['127.0.0.1/32'] }] }] },
    ],
    cases: [{ name: 'from 127.0.0.1', expect: 200 }],
  },
  {
    name: 'ipBlocks that do not hold the client (IPv4)',
    policies: [{ name: 'ten-only', action: 'ALLOW', rules: [{ from: [{ ipBlocks: ['10.0.0.0/8', '::1/128'] }] }] }],
    cases: [{ name: 'from 127.0.0.1', as: 'frontend', expect: 403 }],
  },
  {
    name: 'IPv6: ipBlocks holding ::1 allow; 2001:db8::/32 does not',
    ipv6: true,
    policies: [
      { name: 'v6-loopback', action: 'ALLOW', rules: [{ from: [{ ipBlocks: ['::1/128'] }], to: [{ paths: ['/v6*'] }] }, { from: [{ ipBlocks: ['2001:db8::/32'] }] }] },
    ],
    cases: [
      { name: 'from ::1 to /v6', path: '/v6', expect: 200 },
      { name: 'from ::1 to /other (only 2001:db8::/32 may)', path: '/other', expect: 403 },
    ],
  },
  {
    name: 'IPv6: notIpBlocks in a DENY',
    ipv6: true,
    policies: [{ name: 'v6-deny-outside', action: 'DENY', rules: [{ from: [{ notIpBlocks: ['::1/128', '127.0.0.0/8'] }] }, { from: [{ ipBlocks: ['::/0'] }], to: [{ paths: ['/blocked'] }] }] }],
    cases: [
      { name: 'from ::1', expect: 200 },
      { name: 'from ::1 to /blocked (::/0 holds it)', path: '/blocked', expect: 403 },
    ],
  },
  {
    name: 'two ALLOW policies: matching either one is enough; DENY wins over both',
    policies: [
      { name: 'allow-frontend', action: 'ALLOW', rules: [{ from: [{ services: ['frontend'] }] }] },
      { name: 'allow-health', action: 'ALLOW', rules: [{ to: [{ paths: ['/healthz'], methods: ['GET'] }] }] },
      { name: 'deny-delete', action: 'DENY', rules: [{ to: [{ methods: ['DELETE'] }] }] },
    ],
    cases: [
      { name: 'frontend anywhere', path: '/reviews/1', as: 'frontend', expect: 200 },
      { name: 'anonymous /healthz', path: '/healthz', expect: 200 },
      { name: 'anonymous /reviews/1', path: '/reviews/1', expect: 403 },
      { name: 'frontend DELETE', method: 'DELETE', path: '/reviews/1', as: 'frontend', expect: 403 },
    ],
  },
  {
    name: 'notServices alone lets unauthenticated callers match',
    policies: [{ name: 'not-batch', action: 'ALLOW', rules: [{ from: [{ notServices: ['batch'] }] }] }],
    cases: [
      { name: 'anonymous', expect: 200 },
      { name: 'frontend', as: 'frontend', expect: 200 },
      { name: 'batch', as: 'batch', expect: 403 },
    ],
  },
]

let mesh: Mesh
let v4: Inbound
let v6: Inbound

before(async () => {
  mesh = await createMesh()
  v4 = await startInbound(mesh)
  v6 = await startInbound(mesh, { hostname: '::1' })
})
after(async () => {
  await v4?.close()
  await v6?.close()
})

const total = groups.reduce((n, g) => n + g.cases.length, 0)
test(`the corpus has at least 40 cases (${total})`, () => assert.ok(total >= 40))

for (const group of groups) {
  test(group.name, async (t) => {
    const inbound = group.ipv6 ? v6 : v4
    await inbound.apply({ policies: { authorization: group.policies } })
    for (const c of group.cases) {
      await t.test(c.name, async () => {
        const before = inbound.app.seen.length
        const res = await inbound.call(c)
        assert.equal(res.status, c.expect, `${c.name}: ${res.status} ${res.body}`)
        if (c.expect === 403) {
          assert.equal(JSON.parse(res.body).error, 'forbidden')
          assert.equal(inbound.app.seen.length, before, 'a refused request never reaches the app')
        } else {
          assert.equal(inbound.app.seen.length, before + 1)
        }
      })
    }
  })
}

test('decisions are counted per policy, and refusals as local replies with reason="forbidden"', async () => {
  await v4.apply({ policies: { authorization: [{ name: 'allow-frontend', action: 'ALLOW', rules: [{ from: [{ services: ['frontend'] }] }] }] } })
  await v4.call({ as: 'frontend' })
  await v4.call({})
  await v4.call({})
  const text = await (await fetch(`http://127.0.0.1:${v4.amb.ports.admin}/metrics`)).text()
  assert.match(text, /legate_authz_decisions_total\{policy="allow-frontend",decision="allow"\} [1-9]/)
  assert.match(text, /legate_authz_decisions_total\{policy="",decision="deny"\} [2-9]/)
  assert.match(text, /legate_local_replies_total\{reason="forbidden"\} [1-9]/)
})
