/**
 * Issue 3 acceptance 1: keygen → sign examples/mesh.yaml → verify, through the real CLI,
 * for both algorithms; the private key file is 0600; env fallbacks; size cap flags.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { EXAMPLE, REFUSAL_RE, legate, tempDir } from './legate.ts'

let dir: string
let cleanup: () => Promise<void>
before(async () => ({ dir, cleanup } = await tempDir()))
after(() => cleanup())

const SUMMARY_KEYS = ['digest', 'exp', 'iat', 'iss', 'kid', 'mesh', 'ver']

for (const alg of ['EdDSA', 'ES256'] as const) {
  test(`round trip with ${alg}: keygen → sign → verify prints the CONTRACT §3 summary`, async () => {
    const out = join(dir, `op-${alg}`)
    const keygen = await legate(['keygen', '--kid', `ops-${alg.toLowerCase()}`, '--alg', alg, '--out', out])
    assert.equal(keygen.code, 0, keygen.stderr)

    const privateStat = await stat(`${out}.private.jwk.json`)
    assert.equal(privateStat.mode & 0o777, 0o600, `private key mode is ${(privateStat.mode & 0o777).toString(8)}`)
    const privateJwk = JSON.parse(await readFile(`${out}.private.jwk.json`, 'utf8'))
    assert.equal(typeof privateJwk.d, 'string')
    assert.equal(privateJwk.alg, alg)
    const trust = JSON.parse(await readFile(`${out}.jwks.json`, 'utf8'))
    assert.equal(trust.keys.length, 1)
    assert.equal(trust.keys[0].kid, `ops-${alg.toLowerCase()}`)
    assert.ok(!('d' in trust.keys[0]), 'the trust file holds the public key only')

    const jwsPath = join(dir, `mesh-${alg}.jws`)
    const before = Math.floor(Date.now() / 1000)
    const signed = await legate(['sign', EXAMPLE, '--key', `${out}.private.jwk.json`, '--ver', '42', '--ttl', '1d', '--iss', 'ci', '-o', jwsPath])
    assert.equal(signed.code, 0, signed.stderr)
    const jws = (await readFile(jwsPath, 'utf8')).trim()
    assert.match(jws, /^[\w-]+\.[\w-]+\.[\w-]+$/)

    const verified = await legate(['verify', jwsPath, '--trust', `${out}.jwks.json`, '--mesh', 'demo'])
    assert.equal(verified.code, 0, verified.stderr)
    const summary = JSON.parse(verified.stdout)
    assert.deepEqual(Object.keys(summary).sort(), SUMMARY_KEYS)
    assert.equal(summary.mesh, 'demo')
    assert.equal(summary.ver, 42)
    assert.equal(summary.iss, 'ci')
    assert.equal(summary.kid, `ops-${alg.toLowerCase()}`)
    assert.ok(summary.iat >= before - 1 && summary.iat <= Math.floor(Date.now() / 1000) + 1)
    assert.equal(summary.exp - summary.iat, 86_400)
    assert.equal(summary.digest, `sha256:${createHash('sha256').update(jws).digest('hex')}`)
  })
}

test('sign defaults: ver is the time in ms, ttl 30 days, iss the kid; stdout and stdin work end to end', async () => {
  const out = join(dir, 'defaults')
  assert.equal((await legate(['keygen', '--kid', 'k1', '--out', out])).code, 0)
  const t0 = Date.now()
  const signed = await legate(['sign', EXAMPLE, '--key', `${out}.private.jwk.json`])
  assert.equal(signed.code, 0, signed.stderr)
  const verified = await legate(['verify', '-', '--trust', `${out}.jwks.json`], { stdin: signed.stdout })
  assert.equal(verified.code, 0, verified.stderr)
  const s = JSON.parse(verified.stdout)
  assert.ok(s.ver >= t0 && s.ver <= Date.now(), `ver ${s.ver} is not the signing time in ms`)
  assert.equal(s.exp - s.iat, 30 * 86_400)
  assert.equal(s.iss, 'k1')
})

test('LEGATE_<FLAG> environment fallbacks: LEGATE_TRUST, LEGATE_MESH, LEGATE_KEY, LEGATE_VER', async () => {
  const out = join(dir, 'env')
  assert.equal((await legate(['keygen', '--out', out], { env: { LEGATE_KID: 'from-env' } })).code, 0)
  const jwsPath = join(dir, 'env.jws')
  const signed = await legate(['sign', EXAMPLE, '-o', jwsPath], { env: { LEGATE_KEY: `${out}.private.jwk.json`, LEGATE_VER: '9' } })
  assert.equal(signed.code, 0, signed.stderr)

  const ok = await legate(['verify', jwsPath], { env: { LEGATE_TRUST: `${out}.jwks.json` } })
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(JSON.parse(ok.stdout).kid, 'from-env')
  assert.equal(JSON.parse(ok.stdout).ver, 9)

  const wrong = await legate(['verify', jwsPath], { env: { LEGATE_TRUST: `${out}.jwks.json`, LEGATE_MESH: 'prod' } })
  assert.equal(wrong.code, 1)
  assert.equal(REFUSAL_RE.exec(wrong.stderr)?.[1], 'wrong_mesh')
  // A flag wins over its environment variable.
  const flag = await legate(['verify', jwsPath, '--mesh', 'demo'], { env: { LEGATE_TRUST: `${out}.jwks.json`, LEGATE_MESH: 'prod' } })
  assert.equal(flag.code, 0, flag.stderr)
})

test('--max-config-bytes and LEGATE_MAX_CONFIG_BYTES move the size cap', async () => {
  const out = join(dir, 'cap')
  assert.equal((await legate(['keygen', '--kid', 'cap', '--out', out])).code, 0)
  // Over 1 MiB once signed: 10,000 services with two endpoints each.
  const services = Array.from({ length: 10_000 }, (_, i) => ({ name: `svc-${i}`, endpoints: [`http://10.${(i >> 8) & 255}.${i & 255}.1:8080`, `http://10.${(i >> 8) & 255}.${i & 255}.2:8080`] }))
  const big = join(dir, 'big.yaml')
  await writeFile(big, stringify({ mesh: 'demo', services }))
  const jwsPath = join(dir, 'big.jws')
  const signed = await legate(['sign', big, '--key', `${out}.private.jwk.json`, '-o', jwsPath])
  assert.equal(signed.code, 0, signed.stderr)
  assert.ok((await stat(jwsPath)).size > 1024 * 1024)

  const refused = await legate(['verify', jwsPath, '--trust', `${out}.jwks.json`])
  assert.equal(refused.code, 1)
  assert.equal(REFUSAL_RE.exec(refused.stderr)?.[1], 'too_large')
  const raised = await legate(['verify', jwsPath, '--trust', `${out}.jwks.json`, '--max-config-bytes', '4194304'])
  assert.equal(raised.code, 0, raised.stderr)
  const fromEnv = await legate(['verify', jwsPath, '--trust', `${out}.jwks.json`], { env: { LEGATE_MAX_CONFIG_BYTES: '4194304' } })
  assert.equal(fromEnv.code, 0, fromEnv.stderr)
  // And lowered: the example itself is refused under a 100-byte cap.
  const small = join(dir, 'small.jws')
  assert.equal((await legate(['sign', EXAMPLE, '--key', `${out}.private.jwk.json`, '-o', small])).code, 0)
  const lowered = await legate(['verify', small, '--trust', `${out}.jwks.json`, '--max-config-bytes', '100'])
  assert.equal(REFUSAL_RE.exec(lowered.stderr)?.[1], 'too_large')
})
