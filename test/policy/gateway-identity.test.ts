/**
 * The gateway (workerd, Miniflare) in a mesh: started with a workload key (the secret
 * LEGATE_IDENTITY_KEY) for service `edge`, it calls `reviews` with its own identity token;
 * reviews' Node ambassador lets only `edge` in from the mesh (clients of 203.0.113.0/24 only
 * through the edge), and its app sees x-legate-source: edge.
 * A client token presented to the gateway is checked for the routed service and never
 * forwarded; an invalid one is a 401 at the edge.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Miniflare } from 'miniflare'
import { IDENTITY_TYP } from '../../protocol/identity/index.ts'
import { makeKey, signWith, type TestKey } from '../helpers/keys.ts'
import { startAmbassador, startUpstream, type Upstream } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { bundleWorkerd, createMesh, type Mesh } from './fixtures.ts'

let mesh: Mesh
let edgeKey: TestKey
let app: Upstream
let reviews: RunningAmbassador
let mf: Miniflare
const CLIENT = '203.0.113.9'

before(async () => {
  mesh = await createMesh()
  edgeKey = await makeKey('edge-k1')
  app = await startUpstream('reviews-app')
  reviews = await startAmbassador({ trust: mesh.signer.trust, mesh: 'demo', service: 'reviews', app: app.url })
  const doc = mesh.config({
    routes: [{ name: 'web', hostnames: ['web.example'], rules: [{ backendRefs: [{ name: 'reviews' }] }] }],
    // The same policy is enforced at the edge (the caller is the client, by address) and at
    // reviews' inbound (the caller is the gateway, by identity).
    policies: { authorization: [{ name: 'edge-or-clients', targets: ['reviews'], rules: [{ from: [{ services: ['edge'] }] }, { from: [{ ipBlocks: ['203.0.113.0/24'] }] }] }] },
  }) as { services: Array<Record<string, unknown>> }
  for (const s of doc.services) if (s.name === 'reviews') s.endpoints = [`http://127.0.0.1:${reviews.ports.inbound}`]
  doc.services.push({ name: 'edge', endpoints: ['http://127.0.0.1:9'], identity: { keys: [edgeKey.publicJwk] } })
  const jws = await mesh.signer.sign(doc, 1)
  assert.equal(await reviews.ambassador.holder.offer(jws, 'test'), 'applied')
  mf = new Miniflare({
    modules: true,
    script: await bundleWorkerd(),
    compatibilityDate: '2026-04-01',
    bindings: {
      LEGATE_MESH: 'demo',
      LEGATE_TRUST: JSON.stringify(mesh.signer.trust.jwks),
      LEGATE_CONFIG: jws,
      LEGATE_LOG_LEVEL: 'silent',
      LEGATE_SERVICE: 'edge',
      LEGATE_IDENTITY_KEY: JSON.stringify(edgeKey.privateJwk),
    },
  })
})

after(async () => {
  await mf?.dispose()
  await reviews?.close()
  await app?.close()
})

test('the gateway calls reviews as "edge": allowed, and the app sees x-legate-source: edge and no token', { timeout: 60_000 }, async () => {
  const res = await mf.dispatchFetch('http://web.example/reviews/1', { headers: { 'x-legate-source': 'admin', 'cf-connecting-ip': CLIENT } })
  assert.equal(res.status, 200, await res.clone().text())
  await res.arrayBuffer()
  const seen = app.seen.at(-1)!
  assert.equal(seen.headers['x-legate-source'], 'edge')
  assert.equal(seen.headers['legate-identity'], undefined)
})

test("a client's valid token for reviews is checked at the edge but not forwarded: the gateway's own identity goes upstream", async () => {
  const token = await mesh.minter('frontend').token('reviews')
  const res = await mf.dispatchFetch('http://web.example/reviews/2', { headers: { 'legate-identity': token, 'cf-connecting-ip': CLIENT } })
  assert.equal(res.status, 200)
  await res.arrayBuffer()
  assert.equal(app.seen.at(-1)!.headers['x-legate-source'], 'edge')
})

test('an invalid token presented to the gateway is a 401 at the edge', async () => {
  const seen = app.seen.length
  const iat = Math.floor(Date.now() / 1000)
  const forged = await signWith((await makeKey('x')).key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-k1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat, exp: iat + 60 })
  const res = await mf.dispatchFetch('http://web.example/reviews/3', { headers: { 'legate-identity': forged, 'cf-connecting-ip': CLIENT } })
  assert.equal(res.status, 401)
  assert.equal(((await res.json()) as { error: string }).error, 'unauthenticated')
  assert.equal(app.seen.length, seen)
})

test('without the gateway identity, reviews refuses the same request (control)', async () => {
  const res = await fetch(`http://127.0.0.1:${reviews.ports.inbound}/reviews/4`, { headers: { host: 'reviews' } })
  assert.equal(res.status, 403)
})

test('a client outside the allowed range is refused at the edge, before any upstream request', async () => {
  const seen = app.seen.length
  const res = await mf.dispatchFetch('http://web.example/reviews/5', { headers: { 'cf-connecting-ip': '198.51.100.1' } })
  assert.equal(res.status, 403)
  await res.arrayBuffer()
  assert.equal(app.seen.length, seen)
})

test('a CORS preflight on a rule with the CORS filter is answered at the edge without authorization; the actual request is authorized', async () => {
  const cors = await createMesh()
  const doc = cors.config({
    routes: [{ name: 'app', hostnames: ['app.example'], rules: [{ filters: [{ type: 'CORS', cors: { allowOrigins: ['https://ui.example'], allowMethods: ['GET'] } }], backendRefs: [{ name: 'reviews' }] }] }],
    policies: { authorization: [{ name: 'members-only', targets: ['reviews'], rules: [{ from: [{ services: ['frontend'] }] }] }] },
  })
  const edge = new Miniflare({
    modules: true,
    script: await bundleWorkerd(),
    compatibilityDate: '2026-04-01',
    bindings: { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(cors.signer.trust.jwks), LEGATE_CONFIG: await cors.signer.sign(doc, 1), LEGATE_LOG_LEVEL: 'silent' },
  })
  try {
    const pre = await edge.dispatchFetch('http://app.example/x', { method: 'OPTIONS', headers: { origin: 'https://ui.example', 'access-control-request-method': 'GET' } })
    assert.equal(pre.status, 200)
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://ui.example')
    await pre.arrayBuffer()
    const plainOptions = await edge.dispatchFetch('http://app.example/x', { method: 'OPTIONS' })
    assert.equal(plainOptions.status, 403)
    await plainOptions.arrayBuffer()
    const actual = await edge.dispatchFetch('http://app.example/x', { headers: { origin: 'https://ui.example' } })
    assert.equal(actual.status, 403)
    await actual.arrayBuffer()
  } finally {
    await edge.dispose()
  }
})
