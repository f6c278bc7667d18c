/**
 * Identity acceptance (issue 7, §2): a real mesh on 127.0.0.1. The app of `frontend`
 * calls `reviews` through its ambassador's outbound listener (started with the frontend
 * workload key); reviews' ambassador verifies the token and its app sees who called.
 * Each attack is one request to reviews' inbound listener and must be refused.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { IDENTITY_TYP } from '../../protocol/identity/index.ts'
import { makeKey, signWith, type TestKey } from '../helpers/keys.ts'
import { startAmbassador, startUpstream, type Upstream } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { createMesh, send, type Mesh } from './fixtures.ts'

let mesh: Mesh
let reviewsApp: Upstream, ratingsApp: Upstream, sniffer: Upstream
let frontendAmb: RunningAmbassador, reviewsAmb: RunningAmbassador, ratingsAmb: RunningAmbassador
let frontendK2: TestKey
let ver = 0

/** The mesh config with real endpoints; frontend may list extra keys (rotation). */
function config(frontendKeys: TestKey[]) {
  const doc = mesh.config({}, { frontend: frontendKeys }) as { services: Array<{ name: string; endpoints: string[] }> }
  const endpoint: Record<string, string> = {
    reviews: `http://127.0.0.1:${reviewsAmb.ports.inbound}`,
    ratings: `http://127.0.0.1:${ratingsAmb.ports.inbound}`,
  }
  for (const s of doc.services) if (endpoint[s.name]) s.endpoints = [endpoint[s.name]!]
  doc.services.push({ name: 'sniffer', endpoints: [sniffer.url] } as never)
  return doc
}

async function applyEverywhere(frontendKeys: TestKey[]) {
  const jws = await mesh.signer.sign(config(frontendKeys), ++ver)
  for (const amb of [frontendAmb, reviewsAmb, ratingsAmb]) assert.equal(await amb.ambassador.holder.offer(jws, 'test'), 'applied')
}

before(async () => {
  mesh = await createMesh()
  frontendK2 = await makeKey('frontend-k2')
  reviewsApp = await startUpstream('reviews-app')
  ratingsApp = await startUpstream('ratings-app')
  sniffer = await startUpstream('sniffer')
  const common = { trust: mesh.signer.trust, mesh: 'demo' }
  reviewsAmb = await startAmbassador({ ...common, service: 'reviews', app: reviewsApp.url })
  ratingsAmb = await startAmbassador({ ...common, service: 'ratings', app: ratingsApp.url })
  frontendAmb = await startAmbassador({ ...common, service: 'frontend', identityKey: mesh.keys.frontend!.privateJwk })
  await applyEverywhere([mesh.keys.frontend!, frontendK2])
})

after(async () => {
  for (const a of [frontendAmb, reviewsAmb, ratingsAmb]) await a?.close()
  for (const u of [reviewsApp, ratingsApp, sniffer]) await u?.close()
})

const viaOutbound = (host: string, headers: Record<string, string> = {}) => send('127.0.0.1', frontendAmb.ports.outbound, { path: '/reviews/1', headers: { host, ...headers } })
const toReviews = (headers: Record<string, string>, amb = reviewsAmb) => send('127.0.0.1', amb.ports.inbound!, { path: '/reviews/1', headers: { host: 'reviews', ...headers } })
const iat = () => Math.floor(Date.now() / 1000)

async function refused(headers: Record<string, string>, why: RegExp, amb = reviewsAmb, app = reviewsApp) {
  const seen = app.seen.length
  const res = await toReviews(headers, amb)
  assert.equal(res.status, 401, res.body)
  const body = JSON.parse(res.body)
  assert.equal(body.error, 'unauthenticated')
  assert.match(body.message, why)
  assert.equal(app.seen.length, seen, 'a refused request never reaches the app')
}

test('a valid caller passes: the app sees x-legate-source: frontend and no legate-identity', async () => {
  const res = await viaOutbound('reviews', { 'x-legate-source': 'admin', 'legate-identity': 'app-made-this-up' })
  assert.equal(res.status, 200, res.body)
  const seen = reviewsApp.seen.at(-1)!
  assert.equal(seen.headers['x-legate-source'], 'frontend')
  assert.equal(seen.headers['legate-identity'], undefined)
})

test('many calls reuse one cached token per destination', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await viaOutbound('sniffer')).status, 200)
  const tokens = new Set(sniffer.seen.slice(-20).map((s) => s.headers['legate-identity']))
  assert.equal(tokens.size, 1)
  const [token] = tokens
  const claims = JSON.parse(Buffer.from(String(token).split('.')[1]!, 'base64url').toString())
  assert.equal(claims.iss, 'frontend')
  assert.equal(claims.aud, 'sniffer')
  assert.ok(claims.exp - claims.iat <= 300)
})

test('a client sending x-legate-source: admin directly gets no identity: the app sees no such header', async () => {
  const res = await toReviews({ 'x-legate-source': 'admin' })
  assert.equal(res.status, 200)
  assert.equal(reviewsApp.seen.at(-1)!.headers['x-legate-source'], undefined)
})

test('a token for another audience, replayed by that service to reviews, is refused', async () => {
  await viaOutbound('sniffer')
  const stolen = String(sniffer.seen.at(-1)!.headers['legate-identity'])
  await refused({ 'legate-identity': stolen }, /for service "sniffer", not "reviews"/)
})

test('a token for reviews replayed to a second service (ratings) is refused', async () => {
  const token = await mesh.minter('frontend').token('reviews')
  await refused({ 'legate-identity': token }, /not "ratings"/, ratingsAmb, ratingsApp)
})

test('a forged token (right kid, attacker key) is refused', async () => {
  const mallory = await makeKey('mallory')
  const forged = await signWith(mallory.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-k1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat: iat(), exp: iat() + 60 })
  await refused({ 'legate-identity': forged }, /bad_signature/)
  // and a valid token with its payload swapped for an admin claim
  const good = await mesh.minter('frontend').token('reviews')
  const [h, , s] = good.split('.')
  const payload = Buffer.from(JSON.stringify({ iss: 'admin-ui', sub: 'admin-ui', aud: 'reviews', iat: iat(), exp: iat() + 60 })).toString('base64url')
  await refused({ 'legate-identity': `${h}.${payload}.${s}` }, /bad_signature/)
})

test('an expired token is refused', async () => {
  const old = iat() - 3600
  const token = await signWith(mesh.keys.frontend!.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-k1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat: old, exp: old + 300 })
  await refused({ 'legate-identity': token }, /expired/)
})

test('a token signed by a key not in the config is refused', async () => {
  const stranger = await makeKey('frontend-k9')
  const token = await signWith(stranger.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-k9' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat: iat(), exp: iat() + 60 })
  await refused({ 'legate-identity': token }, /untrusted_key/)
})

test("a service's key cannot speak for another service", async () => {
  const token = await signWith(mesh.keys.ratings!.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'ratings-k1' }, { iss: 'admin-ui', sub: 'admin-ui', aud: 'reviews', iat: iat(), exp: iat() + 60 })
  await refused({ 'legate-identity': token }, /belongs to "ratings"/)
})

test('rotation: with two keys listed both verify; a key removed by a new version is refused as soon as it applies', async () => {
  const k2 = mesh.minter('frontend', frontendK2)
  const token = await k2.token('reviews')
  const ok = await toReviews({ 'legate-identity': token })
  assert.equal(ok.status, 200) // verified, and now in the verified-token cache
  assert.equal(reviewsApp.seen.at(-1)!.headers['x-legate-source'], 'frontend')
  await applyEverywhere([mesh.keys.frontend!]) // k2 removed
  await refused({ 'legate-identity': token }, /untrusted_key/)
  // the remaining key still works end to end
  assert.equal((await viaOutbound('reviews')).status, 200)
  await applyEverywhere([mesh.keys.frontend!, frontendK2])
})

test('refusals are counted by code', async () => {
  const text = await (await fetch(`http://127.0.0.1:${reviewsAmb.ports.admin}/metrics`)).text()
  for (const code of ['bad_signature', 'expired', 'untrusted_key', 'bad_claim']) assert.match(text, new RegExp(`legate_identity_refused_total\\{code="${code}"\\} [1-9]`))
  assert.match(text, /legate_local_replies_total\{reason="unauthenticated"\} [1-9]/)
})
