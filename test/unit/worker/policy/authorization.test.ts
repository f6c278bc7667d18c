/** Authorization matchers in-process: the edges of the compiled fast paths (the full corpus runs over sockets in test/policy). */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseIp, parseMeshConfig } from '../../../../protocol/index.ts'
import { compileAuthorization, type AuthorizationRequest } from '../../../../worker/policy/authorization.ts'
import { normalizePath } from '../../../../worker/policy/normalize-path.ts'
import { compileStringPatterns } from '../../../../worker/policy/string-pattern.ts'

const table = (authorization: unknown[]) =>
  compileAuthorization(parseMeshConfig({ mesh: 'demo', services: [{ name: 'svc', endpoints: ['http://127.0.0.1:1'] }, { name: 'frontend', endpoints: ['http://127.0.0.1:2'] }], policies: { authorization } }).policies.authorization)
const req = (over: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({ method: 'GET', path: '/', headers: new Headers(), source: undefined, ip: parseIp('127.0.0.1'), ...over })

test('an ALLOW policy for other methods still counts as "an ALLOW policy targets the service"', () => {
  const t = table([{ name: 'post-only', action: 'ALLOW', rules: [{ to: [{ methods: ['POST'] }] }] }])
  assert.equal(t.decide('svc', req({ method: 'POST' })).allowed, true)
  const d = t.decide('svc', req({ method: 'GET' }))
  assert.equal(d.allowed, false)
  assert.equal(d.policy, undefined)
  assert.equal(t.decide('svc', req({ method: 'get' })).allowed, false)
  assert.equal(t.decide('svc', req({ method: 'post' })).allowed, true, 'methods compare case-insensitively')
})

test('a DENY limited to DELETE is skipped for GET, applied for DELETE; a DENY with a method pattern is never skipped', () => {
  const t = table([
    { name: 'no-delete', action: 'DENY', rules: [{ to: [{ methods: ['DELETE'] }] }] },
    { name: 'no-p-methods', action: 'DENY', rules: [{ to: [{ methods: ['P*'], paths: ['/locked'] }] }] },
  ])
  assert.equal(t.decide('svc', req()).allowed, true)
  assert.equal(t.decide('svc', req({ method: 'DELETE' })).policy, 'no-delete')
  assert.equal(t.decide('svc', req({ method: 'PATCH', path: '/locked' })).policy, 'no-p-methods')
  for (let i = 0; i < 100; i++) t.decide('svc', req({ method: `X${i}` })) // arbitrary methods: bounded cache, still correct
  assert.equal(t.decide('svc', req({ method: 'DELETE' })).allowed, false)
})

test('paths are normalized before matching: merged slashes, decoded unreserved escapes', () => {
  assert.equal(normalizePath('//a///b'), '/a/b')
  assert.equal(normalizePath('/%61dmin/%7Euser/%2F'), '/admin/~user/%2F') // %2F stays: it is not unreserved
  const t = table([{ name: 'no-admin', action: 'DENY', rules: [{ to: [{ paths: ['/admin*'] }] }] }])
  for (const path of ['/admin', '//admin', '/%61dmin', '/%61%64min']) assert.equal(t.decide('svc', req({ path })).allowed, false, path)
})

test('string patterns: exact, prefix*, *suffix, *', () => {
  const m = compileStringPatterns(['/a', '/b/*', '*.png'])
  assert.deepEqual(['/a', '/a/x', '/b/', '/b/c', '/x.png', '/b'].map(m), [true, false, true, true, true, false])
  assert.equal(compileStringPatterns(['*'])(''), true)
})

test('an unknown client address matches no ipBlocks and every notIpBlocks', () => {
  const t = table([{ name: 'ten', action: 'ALLOW', rules: [{ from: [{ ipBlocks: ['10.0.0.0/8'] }] }, { from: [{ notIpBlocks: ['10.0.0.0/8'] }], to: [{ paths: ['/open'] }] }] }])
  assert.equal(t.decide('svc', req({ ip: undefined })).allowed, false)
  assert.equal(t.decide('svc', req({ ip: undefined, path: '/open' })).allowed, true)
  assert.equal(t.decide('svc', req({ ip: parseIp('10.1.2.3') })).allowed, true)
  assert.equal(t.decide('svc', req({ ip: parseIp('::ffff:10.1.2.3') })).allowed, true, 'IPv4-mapped IPv6 is IPv4')
})
