/**
 * The attack corpus of issue 3: hand-crafted signed configs, each refused by `verifyConfig`
 * with its own CONTRACT §2 code. Tokens are built byte by byte (base64url, jose CompactSign,
 * node:crypto HMAC) against real keys; nothing in the verifier is mocked.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { FlattenedSign, generateKeyPair } from 'jose'
import { verifyConfig, isLegateError, DEFAULT_MAX_CONFIG_BYTES, CONFIG_TYP, type ConfigErrorCode, type TrustSet, type VerifyConfigOptions } from '../../../protocol/index.ts'
import { b64url, configHeader, hmacToken, makeKey, makeRsaKey, minimalConfig, signWith, signingInput, trustOf, validClaims, type TestKey } from '../../helpers/keys.ts'

let ed: TestKey // trusted, EdDSA
let es: TestKey // trusted, ES256
let attacker: TestKey // EdDSA, not trusted
let attackerEs: TestKey // ES256, not trusted
let trust: TrustSet
const NOW = Math.floor(Date.now() / 1000)

before(async () => {
  ed = await makeKey('ops-ed')
  es = await makeKey('ops-es', 'ES256')
  attacker = await makeKey('mallory')
  attackerEs = await makeKey('mallory-es', 'ES256')
  trust = await trustOf(ed, es)
})

const verify = (token: unknown, options: Partial<VerifyConfigOptions> = {}) => verifyConfig(token, { trust, mesh: 'demo', now: NOW * 1000, ...options })

/** Asserts that verification refuses the token with exactly `code`; returns the error. */
async function refuses(token: unknown, code: ConfigErrorCode, options: Partial<VerifyConfigOptions> = {}) {
  let caught: unknown
  try {
    await verify(token, options)
  } catch (err) {
    caught = err
  }
  assert.ok(caught !== undefined, `expected ${code}, but the token verified`)
  assert.ok(isLegateError(caught), `expected a LegateError, got ${String(caught)}`)
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  return caught
}

/** A correctly signed config with these claims, or with one claim removed (`undefined`). */
async function signed(overrides: Record<string, unknown> = {}, key: TestKey = ed, header: Record<string, unknown> = configHeader(key)) {
  const claims = { ...validClaims(minimalConfig(), NOW), ...overrides }
  for (const [k, v] of Object.entries(overrides)) if (v === undefined) delete claims[k]
  return signWith(key.key, header as { alg: string }, claims)
}

const swapPart = (token: string, index: number, part: string) => token.split('.').map((p, i) => (i === index ? part : p)).join('.')

// ------------------------------------------------------------- positive controls

test('a valid EdDSA config verifies (control for every case below)', async () => {
  const v = await verify(await signed())
  assert.equal(v.mesh, 'demo')
  assert.equal(v.kid, 'ops-ed')
  assert.equal(v.ver, 7)
})

test('a valid ES256 config verifies', async () => {
  const v = await verify(await signed({}, es))
  assert.equal(v.alg, 'ES256')
})

test('typ "application/legate-config+jwt" is the same media type and verifies', async () => {
  await verify(await signed({}, ed, { ...configHeader(ed), typ: `application/${CONFIG_TYP}` }))
})

// ------------------------------------------------------------------- algorithms

test('alg "none" with an empty signature → bad_alg', async () => {
  const token = `${signingInput({ alg: 'none', typ: CONFIG_TYP, kid: 'ops-ed' }, validClaims(minimalConfig(), NOW))}.`
  await refuses(token, 'bad_alg')
})

test('alg "none" with a signature copied from a valid token → bad_alg', async () => {
  const sig = (await signed()).split('.')[2]!
  await refuses(`${signingInput({ alg: 'none', typ: CONFIG_TYP, kid: 'ops-ed' }, validClaims(minimalConfig(), NOW))}.${sig}`, 'bad_alg')
})

test('alg "None" (case variant) → bad_alg', async () => {
  await refuses(`${signingInput({ alg: 'None', typ: CONFIG_TYP, kid: 'ops-ed' }, validClaims(minimalConfig(), NOW))}.AAAA`, 'bad_alg')
})

test('HS256 signed with the trusted public key (JWK text and raw x bytes) as the secret → bad_alg', async () => {
  const header = { typ: CONFIG_TYP, kid: 'ops-ed' }
  const claims = validClaims(minimalConfig(), NOW)
  await refuses(hmacToken(header, claims, JSON.stringify(ed.publicJwk)), 'bad_alg')
  await refuses(hmacToken(header, claims, Buffer.from(ed.publicJwk.x!, 'base64url')), 'bad_alg')
})

test('RS256 with an RSA key (even one whose kid is trusted) → bad_alg', async () => {
  const rsa = await makeRsaKey('ops-ed')
  await refuses(await signWith(rsa.key, { alg: 'RS256', typ: CONFIG_TYP, kid: 'ops-ed' }, validClaims(minimalConfig(), NOW)), 'bad_alg')
})

test('ES256 header naming the trusted Ed25519 kid → bad_alg (key type mismatch)', async () => {
  await refuses(await signed({}, attackerEs, { alg: 'ES256', typ: CONFIG_TYP, kid: 'ops-ed' }), 'bad_alg')
})

test('EdDSA header naming the trusted P-256 kid → bad_alg (key type mismatch)', async () => {
  await refuses(await signed({}, attacker, { alg: 'EdDSA', typ: CONFIG_TYP, kid: 'ops-es' }), 'bad_alg')
})

test('alg missing from the header → bad_alg', async () => {
  const sig = (await signed()).split('.')[2]!
  await refuses(`${signingInput({ typ: CONFIG_TYP, kid: 'ops-ed' }, validClaims(minimalConfig(), NOW))}.${sig}`, 'bad_alg')
})

// ---------------------------------------------------------------------- typ

test('typ "JWT" → bad_typ', async () => {
  await refuses(await signed({}, ed, { ...configHeader(ed), typ: 'JWT' }), 'bad_typ')
})

test('typ missing → bad_typ', async () => {
  await refuses(await signed({}, ed, { alg: 'EdDSA', kid: 'ops-ed' }), 'bad_typ')
})

test('typ of an identity token ("legate-identity+jwt") → bad_typ', async () => {
  await refuses(await signed({}, ed, { ...configHeader(ed), typ: 'legate-identity+jwt' }), 'bad_typ')
})

// ---------------------------------------------------------------------- keys

test('kid missing → untrusted_key', async () => {
  await refuses(await signed({}, ed, { alg: 'EdDSA', typ: CONFIG_TYP }), 'untrusted_key')
})

test('kid not in the trust file → untrusted_key', async () => {
  await refuses(await signed({}, attacker), 'untrusted_key')
})

test('embedded "jwk" header with the attacker key (signed by it, trusted kid) → untrusted_key', async () => {
  const header = { ...configHeader(ed), jwk: attacker.publicJwk }
  await refuses(await signed({}, attacker, header), 'untrusted_key')
})

test('"jku" and "x5c" headers → untrusted_key', async () => {
  await refuses(await signed({}, ed, { ...configHeader(ed), jku: 'https://evil.example/jwks.json' }), 'untrusted_key')
  await refuses(await signed({}, ed, { ...configHeader(ed), x5c: ['MIIB'] }), 'untrusted_key')
})

test('an attacker key signing under a trusted kid → bad_signature', async () => {
  await refuses(await signed({}, attacker, configHeader(ed)), 'bad_signature')
})

// ----------------------------------------------------------------- tampering

test('payload tampered (ver raised, signature kept) → bad_signature', async () => {
  const token = await signed()
  const forged = b64url(JSON.stringify({ ...validClaims(minimalConfig(), NOW), ver: 8 }))
  await refuses(swapPart(token, 1, forged), 'bad_signature')
})

test('payload tampered (a backend swapped in the config) → bad_signature, also for ES256', async () => {
  for (const key of [ed, es]) {
    const token = await signed({}, key)
    const evil = { ...minimalConfig(), services: [{ name: 'echo', endpoints: ['http://10.6.6.6'] }] }
    await refuses(swapPart(token, 1, b64url(JSON.stringify(validClaims(evil, NOW)))), 'bad_signature')
  }
})

test('header tampered (an extra member, alg/typ/kid kept) → bad_signature', async () => {
  const token = await signed()
  await refuses(swapPart(token, 0, b64url(JSON.stringify({ ...configHeader(ed), cty: 'x' }))), 'bad_signature')
})

test('signature truncated or emptied → bad_signature', async () => {
  const token = await signed()
  await refuses(token.slice(0, -4), 'bad_signature')
  await refuses(swapPart(token, 2, ''), 'bad_signature')
})

// ------------------------------------------------------------------- form

test('not a JWS: prose, two parts, four parts, a number → malformed', async () => {
  await refuses('hello, world', 'malformed')
  await refuses('abc.def', 'malformed')
  await refuses('a.b.c.d', 'malformed')
  await refuses(42, 'malformed')
})

test('header that is not base64url JSON → malformed', async () => {
  const sig = (await signed()).split('.')[2]!
  await refuses(`${b64url('{"alg":"EdDSA"')}.${b64url('{}')}.${sig}`, 'malformed')
})

test('JWS JSON serialization instead of compact → malformed', async () => {
  const jws = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(validClaims(minimalConfig(), NOW))))
    .setProtectedHeader(configHeader(ed))
    .sign(ed.key)
  await refuses(JSON.stringify(jws), 'malformed')
  await refuses(JSON.stringify({ payload: jws.payload, signatures: [{ protected: jws.protected, signature: jws.signature }] }), 'malformed')
})

test('an unknown critical header extension ("crit") → malformed', async () => {
  const [, payload, sig] = (await signed()).split('.')
  await refuses(`${b64url(JSON.stringify({ ...configHeader(ed), crit: ['exp'], exp: NOW }))}.${payload}.${sig}`, 'malformed')
  await refuses(`${b64url(JSON.stringify({ ...configHeader(ed), crit: [] }))}.${payload}.${sig}`, 'malformed')
})

test('validly signed payload that is not JSON, or a JSON array → malformed', async () => {
  await refuses(await signWith(ed.key, configHeader(ed), 'not json'), 'malformed')
  await refuses(await signWith(ed.key, configHeader(ed), '[1,2]'), 'malformed')
})

test('a signature or payload part of a length base64url cannot have → malformed (jose\'s word), a truncated one → bad_signature', async () => {
  for (const key of [ed, es]) {
    const [h, p, sig] = (await signed({}, key)).split('.') as [string, string, string]
    // 4k+1 characters are no base64url: refused as a form error, as jose refuses it.
    assert.equal(sig.length % 4, 2)
    const bad = await refuses(`${h}.${p}.${sig.slice(0, -1)}`, 'malformed')
    assert.match(bad.message, /signature/)
    await refuses(`${h}.${p}.${sig}A`, 'bad_signature')
    await refuses(`${h}.${p}.${sig.slice(0, -2)}`, 'bad_signature')
    await refuses(`${h}.${p}A.${sig}`, 'bad_signature')
    await refuses(`${h}.${p.slice(0, -1)}.${sig}`, 'bad_signature')
  }
})

test('a header with a b64 member is left to jose, which ignores it unless crit names it', async () => {
  assert.equal((await verify(await signed({}, ed, { ...configHeader(ed), b64: true }))).ver, 7)
  assert.equal((await verify(await signed({}, es, { ...configHeader(es), b64: false }))).ver, 7)
})

// ------------------------------------------------------------------ size cap

test('1 MiB + 1 byte → too_large', async () => {
  const token = await signed()
  const padded = token + 'A'.repeat(DEFAULT_MAX_CONFIG_BYTES + 1 - token.length)
  assert.equal(padded.length, DEFAULT_MAX_CONFIG_BYTES + 1)
  await refuses(padded, 'too_large')
})

test('1 MiB + 1 byte of garbage says too_large, not malformed: refused before decoding', async () => {
  // Shorter garbage is malformed; the same garbage over the cap never reaches the parser.
  await refuses('!'.repeat(100), 'malformed')
  await refuses('!'.repeat(DEFAULT_MAX_CONFIG_BYTES + 1), 'too_large')
  await refuses('{'.repeat(DEFAULT_MAX_CONFIG_BYTES + 1), 'too_large')
})

test('a config of more than 1 MiB verifies once the cap is raised (--max-config-bytes), and not before', async () => {
  const services = Array.from({ length: 10_000 }, (_, i) => ({ name: `svc-${i}`, endpoints: [`http://10.${i >> 8 & 255}.${i & 255}.1:8080`, `http://10.${i >> 8 & 255}.${i & 255}.2:8080`] }))
  const config = { mesh: 'demo', services }
  const token = await signWith(ed.key, configHeader(ed), validClaims(config, NOW))
  assert.ok(token.length > DEFAULT_MAX_CONFIG_BYTES, `token is ${token.length} bytes`)
  await refuses(token, 'too_large')
  const v = await verify(token, { maxBytes: 4 * DEFAULT_MAX_CONFIG_BYTES })
  assert.equal(v.config.services.length, 10_000)
  await refuses(token, 'too_large', { maxBytes: token.length - 1 })
})

// ------------------------------------------------------------------- audience

test('aud for another mesh → wrong_mesh', async () => {
  const other = minimalConfig('other')
  await refuses(await signWith(ed.key, configHeader(ed), validClaims(other, NOW)), 'wrong_mesh')
})

test('aud as an array → bad_claim', async () => {
  await refuses(await signed({ aud: ['demo'] }), 'bad_claim')
})

test('config.mesh differs from aud → wrong_mesh (even without an expected mesh)', async () => {
  const token = await signed({ aud: 'demo', config: minimalConfig('other') })
  await refuses(token, 'wrong_mesh')
  await refuses(token, 'wrong_mesh', { mesh: undefined })
})

// ---------------------------------------------------------------------- times

test('expired → expired', async () => {
  await refuses(await signed({ iat: NOW - 7200, exp: NOW - 3600 }), 'expired')
})

test('expired by less than the clock tolerance still verifies; by more it does not', async () => {
  await verify(await signed({ exp: NOW - 10 }), { clockToleranceSeconds: 30 })
  await refuses(await signed({ exp: NOW - 10 }), 'expired', { clockToleranceSeconds: 0 })
})

test('allowExpired (a restart serving its persisted config) lets only expiry pass, and says so', async () => {
  const old = await signed({ iat: NOW - 7200, exp: NOW - 3600 })
  const v = await verify(old, { allowExpired: true })
  assert.equal(v.expired, true)
  assert.equal((await verify(await signed(), { allowExpired: true })).expired, false)
  const forged = swapPart(old, 1, b64url(JSON.stringify({ ...validClaims(minimalConfig(), NOW), iat: NOW - 7200, exp: NOW - 3600, ver: 99 })))
  await refuses(forged, 'bad_signature', { allowExpired: true })
  await refuses(await signed({ iat: NOW - 7200, exp: NOW - 3600, aud: 'other', config: minimalConfig('other') }), 'wrong_mesh', { allowExpired: true })
})

test('clock tolerance above 60 s is API misuse (TypeError)', async () => {
  await assert.rejects(verify(await signed(), { clockToleranceSeconds: 61 }), TypeError)
})

test('nbf in the future → not_yet_valid', async () => {
  await refuses(await signed({ nbf: NOW + 3600 }), 'not_yet_valid')
})

test('iat in the future → not_yet_valid', async () => {
  await refuses(await signed({ iat: NOW + 3600, exp: NOW + 7200 }), 'not_yet_valid')
})

test('exp not after iat → bad_claim', async () => {
  await refuses(await signed({ iat: NOW, exp: NOW }), 'bad_claim')
  await refuses(await signed({ iat: NOW, exp: NOW - 5 }), 'bad_claim')
})

test('exp as a string → bad_claim', async () => {
  await refuses(await signed({ exp: String(NOW + 3600) }), 'bad_claim')
})

// ------------------------------------------------------------- required claims

for (const claim of ['iss', 'aud', 'iat', 'exp', 'ver', 'config']) {
  test(`claim "${claim}" missing → missing_claim`, async () => {
    const err = await refuses(await signed({ [claim]: undefined }), 'missing_claim')
    assert.match(err.message, new RegExp(`"${claim}"`))
  })
}

test('iss empty or not a string → bad_claim', async () => {
  await refuses(await signed({ iss: '' }), 'bad_claim')
  await refuses(await signed({ iss: 7 }), 'bad_claim')
})

test('config claim that is not an object → bad_claim', async () => {
  await refuses(await signed({ config: 'mesh: demo' }), 'bad_claim')
  await refuses(await signed({ config: [minimalConfig()] }), 'bad_claim')
})

// ------------------------------------------------------------------------ ver

for (const [label, ver] of [['0', 0], ['negative', -1], ['fractional', 1.5], ['a string', '8'], ['beyond 2^53', 2 ** 53], ['null', null]] as const) {
  test(`ver ${label} → bad_claim`, async () => {
    await refuses(await signed({ ver }), 'bad_claim')
  })
}

// ------------------------------------------ valid signature over an invalid config

const broken: Array<[string, (c: ReturnType<typeof minimalConfig>) => unknown, string]> = [
  ['an unknown field', (c) => ({ ...c, sevrices: [] }), 'sevrices'],
  ['a bad duration', (c) => ({ ...c, routes: [{ name: 'echo', rules: [{ backendRefs: [{ name: 'echo' }], timeouts: { request: '10 seconds' } }] }] }), 'routes[0].rules[0].timeouts.request'],
  ['a backendRef to no service', (c) => ({ ...c, routes: [{ name: 'echo', rules: [{ backendRefs: [{ name: 'ghost' }] }] }] }), 'routes[0].rules[0].backendRefs[0].name'],
  ['a duplicate service name', (c) => ({ ...c, services: [...c.services, { name: 'echo', endpoints: ['http://127.0.0.1:9002'] }] }), 'services[1].name'],
  ['a javascript: endpoint', (c) => ({ ...c, services: [{ name: 'echo', endpoints: ['javascript:alert(1)'] }] }), 'services[0].endpoints[0]'],
  ['an invalid regex', (c) => ({ ...c, routes: [{ name: 'echo', rules: [{ matches: [{ path: { type: 'RegularExpression', value: '/(a' } }], backendRefs: [{ name: 'echo' }] }] }] }), 'routes[0].rules[0].matches[0].path.value'],
  ['a regex over the length cap', (c) => ({ ...c, routes: [{ name: 'echo', rules: [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: 'a'.repeat(1025) }] }], backendRefs: [{ name: 'echo' }] }] }] }), 'routes[0].rules[0].matches[0].headers[0].value'],
]

for (const [label, mutate, path] of broken) {
  test(`valid signature over a config with ${label} → invalid_config at ${path}`, async () => {
    const config = mutate(minimalConfig()) as { mesh: string }
    const err = await refuses(await signWith(ed.key, configHeader(ed), validClaims(config, NOW)), 'invalid_config')
    assert.ok(err.issues?.some((i) => i.path === path), `no issue at ${path}: ${JSON.stringify(err.issues)}`)
  })
}

// ------------------------------------------------------------------ rotation

test('a trust file with two keys accepts configs signed by either (key rotation)', async () => {
  const next = await makeKey('ops-2026')
  const both = await trustOf(ed, next)
  assert.equal((await verify(await signed(), { trust: both })).kid, 'ops-ed')
  assert.equal((await verify(await signed({}, next), { trust: both })).kid, 'ops-2026')
  await refuses(await signed({}, next), 'untrusted_key') // the old trust file alone
})

test('a freshly generated P-256 key outside the trust file is untrusted even under alg ES256', async () => {
  const { privateKey } = await generateKeyPair('ES256')
  await refuses(await signWith(privateKey, { alg: 'ES256', typ: CONFIG_TYP, kid: 'nobody' }, validClaims(minimalConfig(), NOW)), 'untrusted_key')
})
