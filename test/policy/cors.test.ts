/**
 * CORS acceptance (issue 7, §5): routes with the Gateway API CORS filter on a real
 * ambassador's outbound listener, checked with the cases of the Gateway API conformance
 * tests (HTTPRouteCORS, HTTPRouteCORSAllowCredentialsBehavior). Preflights are answered
 * by the ambassador and never reach the upstream; other requests are forwarded and get
 * the rule's CORS headers.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createSigner, startAmbassador, startUpstream, type Upstream } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { send } from './fixtures.ts'

let up: Upstream
let amb: RunningAmbassador

before(async () => {
  up = await startUpstream('echo', (req, res) => {
    req.resume()
    // An app that answers CORS itself, too permissively: the filter's answer must win.
    res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*', 'x-header-3': 'v3' })
    res.end('ok')
  })
  const signer = await createSigner('ops')
  const rule = (prefix: string, cors: Record<string, unknown>) => ({ matches: [{ path: { type: 'PathPrefix', value: prefix } }], filters: [{ type: 'CORS', cors }], backendRefs: [{ name: 'echo' }] })
  const jws = await signer.sign(
    {
      mesh: 'demo',
      services: [{ name: 'echo', endpoints: [up.url] }],
      routes: [
        {
          name: 'web',
          hostnames: ['web.example'],
          rules: [
            rule('/cors-1', { allowOrigins: ['https://www.foo.com', 'https://*.bar.com'], allowMethods: ['GET', 'OPTIONS'], allowHeaders: ['x-header-1', 'x-header-2'], exposeHeaders: ['x-header-3', 'x-header-4'], allowCredentials: true, maxAge: 3600 }),
            rule('/cors-2', { allowOrigins: ['https://www.foo.com'], allowMethods: ['*'] }),
            rule('/cors-wildcard-origin', { allowOrigins: ['*'], allowMethods: ['PUT'] }),
            rule('/cors-creds', { allowOrigins: ['https://app.example'], allowCredentials: true }),
            { matches: [{ path: { type: 'PathPrefix', value: '/plain' } }], backendRefs: [{ name: 'echo' }] },
          ],
        },
      ],
    },
    1,
  )
  amb = await startAmbassador({ trust: signer.trust, mesh: 'demo' })
  assert.equal(await amb.ambassador.holder.offer(jws, 'test'), 'applied')
})

after(async () => {
  await amb?.close()
  await up?.close()
})

const call = (method: string, path: string, headers: Record<string, string>) => send('127.0.0.1', amb.ports.outbound, { method, path, headers: { host: 'web.example', ...headers } })
const preflight = (path: string, origin: string, method: string, requestHeaders?: string) =>
  call('OPTIONS', path, { origin, 'access-control-request-method': method, ...(requestHeaders ? { 'access-control-request-headers': requestHeaders } : {}) })
const norm = (v: unknown) => String(v).replace(/\s+/g, '')

test('preflights from matching origins (exact, *.bar.com with one or more labels) are answered by the ambassador', async () => {
  for (const origin of ['https://www.foo.com', 'https://www.bar.com', 'https://xpto.www.bar.com']) {
    const seen = up.seen.length
    const r = await preflight('/cors-1', origin, 'GET', 'x-header-1, x-header-2')
    assert.ok([200, 204].includes(r.status))
    assert.equal(r.headers['access-control-allow-origin'], origin)
    assert.ok(['GET,OPTIONS', 'OPTIONS,GET'].includes(norm(r.headers['access-control-allow-methods'])))
    assert.ok(['x-header-1,x-header-2', 'x-header-2,x-header-1'].includes(norm(r.headers['access-control-allow-headers'])))
    assert.ok(['x-header-3,x-header-4', 'x-header-4,x-header-3'].includes(norm(r.headers['access-control-expose-headers'])))
    assert.equal(r.headers['access-control-max-age'], '3600')
    assert.equal(r.headers['access-control-allow-credentials'], 'true')
    assert.equal(up.seen.length, seen, 'a preflight never reaches the upstream')
  }
})

test('a preflight from a non-matching origin gets no allow-origin', async () => {
  const r = await preflight('/cors-1', 'https://foobar.com', 'GET')
  assert.ok([200, 204, 403].includes(r.status))
  assert.equal(r.headers['access-control-allow-origin'], undefined)
})

test('simple requests: a matching origin gets allow-origin from the filter (not the app\'s "*"); others get none', async () => {
  for (const origin of ['https://www.foo.com', 'https://www.bar.com']) {
    const r = await call('GET', '/cors-1', { origin, 'access-control-request-method': 'GET' })
    assert.equal(r.status, 200)
    assert.equal(r.body, 'ok')
    assert.equal(r.headers['access-control-allow-origin'], origin)
    assert.equal(r.headers['access-control-allow-credentials'], 'true')
  }
  const r = await call('GET', '/cors-1', { origin: 'https://foobar.com' })
  assert.equal(r.status, 200)
  assert.equal(r.headers['access-control-allow-origin'], undefined)
})

test('allowMethods "*" without credentials: POST is allowed and no allow-credentials is sent', async () => {
  const r = await preflight('/cors-2', 'https://www.foo.com', 'POST')
  assert.ok([200, 204].includes(r.status))
  assert.ok(['POST', '*'].includes(String(r.headers['access-control-allow-methods'])))
  assert.equal(r.headers['access-control-allow-origin'], 'https://www.foo.com')
  assert.equal(r.headers['access-control-allow-credentials'], undefined)
})

test('allowOrigins "*": preflight and request, also from an origin with a port', async () => {
  for (const origin of ['https://foobar.com', 'https://foobar.com:12345']) {
    const p = await preflight('/cors-wildcard-origin', origin, 'PUT')
    assert.ok([origin, '*'].includes(String(p.headers['access-control-allow-origin'])))
    assert.equal(p.headers['access-control-allow-methods'], 'PUT')
    assert.equal(p.headers['access-control-allow-credentials'], undefined)
    const r = await call('PUT', '/cors-wildcard-origin', { origin })
    assert.equal(r.status, 200)
    assert.ok([origin, '*'].includes(String(r.headers['access-control-allow-origin'])))
  }
})

test('allowCredentials: only when configured true, and only beside a matching origin', async () => {
  const creds = { cookie: 'sid=abc123', authorization: 'Bearer test' }
  const other = await call('GET', '/cors-creds', { origin: 'http://not-app.example', ...creds })
  assert.equal(other.headers['access-control-allow-credentials'], undefined)
  const ok = await call('GET', '/cors-creds', { origin: 'https://app.example', ...creds })
  assert.equal(ok.headers['access-control-allow-credentials'], 'true')
  assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example')
  const off = await call('GET', '/cors-2', { origin: 'https://www.foo.com', ...creds })
  assert.equal(off.headers['access-control-allow-credentials'], undefined)
})

test('a rule without the CORS filter passes OPTIONS through to the upstream untouched', async () => {
  const seen = up.seen.length
  const r = await preflight('/plain', 'https://www.foo.com', 'GET')
  assert.equal(r.status, 200)
  assert.equal(up.seen.length, seen + 1)
  assert.equal(r.headers['access-control-allow-origin'], '*') // the app's own answer
})
