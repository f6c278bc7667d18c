/**
 * Identity tokens (CONTRACT §5): minting is cached per destination and renewed before
 * expiry; verification uses only the keys of the config it was built from, refuses a key
 * that speaks for another service, and caches a verified token until its exp.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { createIdentityMinter, createIdentityVerifier, IDENTITY_TYP, type IdentityKeyOwner } from '../../../protocol/identity/index.ts'
import { isLegateError } from '../../../protocol/index.ts'
import { makeKey, signWith, type TestKey } from '../../helpers/keys.ts'

let frontend: TestKey
let frontend2: TestKey
let reviews: TestKey
let mallory: TestKey
let esKey: TestKey
let services: IdentityKeyOwner[]
const T0 = Date.UTC(2026, 10, 26, 10, 0, 0)

before(async () => {
  frontend = await makeKey('frontend-1')
  frontend2 = await makeKey('frontend-2')
  reviews = await makeKey('reviews-1')
  mallory = await makeKey('mallory')
  esKey = await makeKey('frontend-es', 'ES256')
  services = [
    { name: 'frontend', identity: { keys: [frontend.publicJwk as never, frontend2.publicJwk as never, esKey.publicJwk as never] } },
    { name: 'reviews', identity: { keys: [reviews.publicJwk as never] } },
    { name: 'ratings' },
  ]
})

const minterFor = (k: TestKey, service: string, now = () => T0) => createIdentityMinter({ service, key: { kid: k.kid, alg: k.alg, key: k.key }, now })

async function refused(p: Promise<unknown>, code: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isLegateError(err), String(err))
    assert.equal(err.code, code, err.message)
    return true
  })
}

test('mint → verify: the token names the source, and the verifier returns it', async () => {
  const token = await minterFor(frontend, 'frontend').token('reviews')
  const [h, p] = token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
  assert.deepEqual(h, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' })
  assert.equal(p.iss, 'frontend')
  assert.equal(p.sub, 'frontend')
  assert.equal(p.aud, 'reviews')
  assert.ok(p.exp - p.iat <= 300 && p.exp > p.iat)
  const v = createIdentityVerifier(services, { now: () => T0 })
  assert.deepEqual(await v.verify(token, 'reviews'), { service: 'frontend', kid: 'frontend-1', exp: p.exp })
})

test('minting is cached per destination and renewed before expiry, never once per request', async () => {
  let now = T0
  const m = minterFor(frontend, 'frontend', () => now)
  const a = await m.token('reviews')
  for (let i = 0; i < 1000; i++) assert.equal(await m.token('reviews'), a)
  const b = await m.token('ratings')
  assert.notEqual(a, b)
  assert.equal(m.signatures, 2)
  now = T0 + 150_000 // half the lifetime: still cached
  assert.equal(await m.token('reviews'), a)
  now = T0 + 201_000 // within the last third: renewed
  const c = await m.token('reviews')
  assert.notEqual(c, a)
  assert.equal(m.signatures, 3)
  // Concurrent callers at renewal share one signature.
  now = T0 + 500_000
  const all = await Promise.all(Array.from({ length: 50 }, () => m.token('reviews')))
  assert.equal(new Set(all).size, 1)
  assert.equal(m.signatures, 4)
})

test('a minter refuses a non-EdDSA key and a lifetime over five minutes', async () => {
  assert.throws(() => minterFor(esKey, 'frontend'), (e: unknown) => isLegateError(e) && e.code === 'bad_alg')
  assert.throws(() => createIdentityMinter({ service: 'frontend', key: frontend, ttlSeconds: 301 }), TypeError)
})

test('a token for another audience is refused (replay to a second service)', async () => {
  const token = await minterFor(frontend, 'frontend').token('reviews')
  const v = createIdentityVerifier(services, { now: () => T0 })
  await refused(v.verify(token, 'ratings'), 'bad_claim')
  // and still refused when the token is already in the verified cache
  await v.verify(token, 'reviews')
  await refused(v.verify(token, 'ratings'), 'bad_claim')
})

test('an expired token is refused, also from the cache', async () => {
  let now = T0
  const token = await minterFor(frontend, 'frontend').token('reviews')
  const v = createIdentityVerifier(services, { now: () => now, clockToleranceSeconds: 30 })
  await v.verify(token, 'reviews')
  now = T0 + 300_000 + 29_000
  await v.verify(token, 'reviews') // inside the tolerance
  now = T0 + 300_000 + 31_000
  await refused(v.verify(token, 'reviews'), 'expired')
  const fresh = createIdentityVerifier(services, { now: () => now })
  await refused(fresh.verify(token, 'reviews'), 'expired')
})

test('a forged token (signed by a key not in the config, under a known kid) fails the signature', async () => {
  const iat = Math.floor(T0 / 1000)
  const forged = await signWith(mallory.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat, exp: iat + 60 })
  await refused(createIdentityVerifier(services, { now: () => T0 }).verify(forged, 'reviews'), 'bad_signature')
})

test('a token under a kid that is in no service is refused as an untrusted key', async () => {
  const token = await minterFor(mallory, 'frontend').token('reviews')
  await refused(createIdentityVerifier(services, { now: () => T0 }).verify(token, 'reviews'), 'untrusted_key')
})

test("a key of one service cannot speak for another (reviews' key claiming frontend)", async () => {
  const token = await minterFor(reviews, 'frontend').token('ratings')
  await refused(createIdentityVerifier(services, { now: () => T0 }).verify(token, 'ratings'), 'untrusted_key')
})

test('a key removed by a new config version is refused by the verifier of that version; rotation with two keys works', async () => {
  const t1 = await minterFor(frontend, 'frontend').token('reviews')
  const t2 = await minterFor(frontend2, 'frontend').token('reviews')
  const v1 = createIdentityVerifier(services, { now: () => T0 })
  assert.equal((await v1.verify(t1, 'reviews')).service, 'frontend')
  assert.equal((await v1.verify(t2, 'reviews')).service, 'frontend')
  const rotated = services.map((s) => (s.name === 'frontend' ? { name: 'frontend', identity: { keys: [frontend2.publicJwk as never] } } : s))
  const v2 = createIdentityVerifier(rotated, { now: () => T0 })
  await refused(v2.verify(t1, 'reviews'), 'untrusted_key')
  assert.equal((await v2.verify(t2, 'reviews')).service, 'frontend')
})

test('tokens of the wrong typ, alg, lifetime or shape are refused', async () => {
  const iat = Math.floor(T0 / 1000)
  const claims = { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat, exp: iat + 60 }
  const v = createIdentityVerifier(services, { now: () => T0 })
  await refused(v.verify(await signWith(frontend.key, { alg: 'EdDSA', typ: 'legate-config+jwt', kid: 'frontend-1' }, claims), 'reviews'), 'bad_typ')
  await refused(v.verify(await signWith(esKey.key, { alg: 'ES256', typ: IDENTITY_TYP, kid: 'frontend-es' }, claims), 'reviews'), 'bad_alg')
  await refused(v.verify(await signWith(frontend.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { ...claims, exp: iat + 3600 }), 'reviews'), 'bad_claim')
  await refused(v.verify(await signWith(frontend.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { ...claims, sub: 'admin' }), 'reviews'), 'bad_claim')
  await refused(v.verify(await signWith(frontend.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { ...claims, exp: undefined }), 'reviews'), 'missing_claim')
  await refused(v.verify('not.a.token', 'reviews'), 'malformed')
  await refused(v.verify('x'.repeat(5000), 'reviews'), 'too_large')
})

test('verification is cached by token string: one signature check per token, not per request', async () => {
  const token = await minterFor(frontend, 'frontend').token('reviews')
  const v = createIdentityVerifier(services, { now: () => T0 })
  for (let i = 0; i < 1000; i++) await v.verify(token, 'reviews')
  assert.equal(v.signatureChecks, 1)
  // A tampered copy is a different string: checked, and refused.
  // Changed inside the signature: the last base64url characters also hold padding bits, and
  // a change there alone can decode to the same signature.
  const at = token.length - 10
  const tampered = token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
  await assert.rejects(v.verify(tampered, 'reviews'))
  assert.equal(v.signatureChecks, 2)
})

test('the verified-token cache is bounded', async () => {
  let now = T0
  const m = createIdentityMinter({ service: 'frontend', key: frontend, now: () => now, maxDestinations: 10_000 })
  const v = createIdentityVerifier(services, { now: () => now, maxCachedTokens: 8 })
  const tokens: string[] = []
  for (let i = 0; i < 20; i++) {
    now = T0 + i * 1000
    tokens.push(await m.token(`svc-${i}`))
    await v.verify(tokens[i]!, `svc-${i}`)
  }
  const checks = v.signatureChecks
  await v.verify(tokens[0]!, 'svc-0') // evicted long ago: checked again
  assert.equal(v.signatureChecks, checks + 1)
  await v.verify(tokens[19]!, 'svc-19') // recent: cached
  assert.equal(v.signatureChecks, checks + 1)
})

test('a refused token sent again is refused without another signature check; time-dependent refusals are not remembered', async () => {
  const iat = Math.floor(T0 / 1000)
  const forged = await signWith(mallory.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat, exp: iat + 60 })
  let now = T0
  const v = createIdentityVerifier(services, { now: () => now })
  for (let i = 0; i < 50; i++) await refused(v.verify(forged, 'reviews'), 'bad_signature')
  assert.equal(v.signatureChecks, 1)
  // A token from the future is refused now and accepted once its time comes.
  const early = await signWith(frontend.key, { alg: 'EdDSA', typ: IDENTITY_TYP, kid: 'frontend-1' }, { iss: 'frontend', sub: 'frontend', aud: 'reviews', iat: iat + 120, exp: iat + 180 })
  await refused(v.verify(early, 'reviews'), 'not_yet_valid')
  now = T0 + 121_000
  assert.equal((await v.verify(early, 'reviews')).service, 'frontend')
})
