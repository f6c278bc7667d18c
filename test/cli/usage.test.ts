/**
 * CONTRACT §3 exit codes through the real CLI: 0 done (and every --help), 2 bad usage,
 * 1 refused input with stderr `error: <code>: <message>`.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EXAMPLE, REFUSAL_RE, legate, tempDir } from './legate.ts'

let dir: string
let cleanup: () => Promise<void>
let jws: string // a valid signed example, by key "ops"
before(async () => {
  ;({ dir, cleanup } = await tempDir())
  assert.equal((await legate(['keygen', '--kid', 'ops', '--out', join(dir, 'ops')])).code, 0)
  assert.equal((await legate(['keygen', '--kid', 'other', '--out', join(dir, 'other')])).code, 0)
  jws = join(dir, 'mesh.jws')
  assert.equal((await legate(['sign', EXAMPLE, '--key', join(dir, 'ops.private.jwk.json'), '-o', jws])).code, 0)
})
after(() => cleanup())

test('--help on the program and on every command exits 0 and prints usage', async () => {
  const root = await legate(['--help'])
  assert.equal(root.code, 0)
  const commands = [...root.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help')
  for (const expected of ['keygen', 'validate', 'schema', 'sign', 'verify']) assert.ok(commands.includes(expected), `--help lists ${expected}: ${commands.join()}`)
  const results = await Promise.all(commands.map((c) => legate([c, '--help'])))
  results.forEach((r, i) => {
    assert.equal(r.code, 0, `${commands[i]} --help: ${r.stderr}`)
    assert.match(r.stdout, new RegExp(`^Usage: legate ${commands[i]}`, 'm'))
  })
})

test('bad usage exits 2: unknown command, missing flag, missing argument, unknown option, bad values', async () => {
  const cases: string[][] = [
    ['frobnicate'],
    ['verify', jws],
    ['verify', '--trust', join(dir, 'ops.jwks.json')],
    ['keygen', '--kid', 'x'],
    ['keygen', '--out', join(dir, 'nokid')],
    ['keygen', '--kid', 'x', '--out', join(dir, 'x'), '--alg', 'RS256'],
    ['sign', EXAMPLE],
    ['sign', EXAMPLE, '--key', join(dir, 'ops.private.jwk.json'), '--ver', '0'],
    ['sign', EXAMPLE, '--key', join(dir, 'ops.private.jwk.json'), '--ttl', 'forever'],
    ['verify', jws, '--trust', join(dir, 'ops.jwks.json'), '--max-config-bytes', 'lots'],
    ['validate', EXAMPLE, '--frobnicate'],
  ]
  const results = await Promise.all(cases.map((args) => legate(args)))
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `legate ${cases[i]!.join(' ')} exited ${r.code}: ${r.stderr}`)
    assert.match(r.stderr, /error/, `legate ${cases[i]!.join(' ')} says why`)
    assert.equal(r.stdout, '')
  })
})

test('no command at all is bad usage: exit 2 with the usage on stderr', async () => {
  const r = await legate([])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /^Usage: legate /m)
})

/** Asserts exit 1 and the one-line `error: <code>: <message>`. */
function refused(r: { code: number | null; stderr: string; stdout: string }, code: string) {
  assert.equal(r.code, 1, r.stderr)
  assert.equal(REFUSAL_RE.exec(r.stderr)?.[1], code, r.stderr)
  assert.equal(r.stdout, '')
}

test('refused inputs exit 1 with `error: <code>: <message>`', async () => {
  const tampered = join(dir, 'tampered.jws')
  const [h, p, s] = (await readFile(jws, 'utf8')).trim().split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
  claims.ver += 1
  await writeFile(tampered, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`)
  const notJws = join(dir, 'not.jws')
  await writeFile(notJws, 'mesh: demo\n')

  const jwsText = await readFile(jws, 'utf8')
  const [untrusted, badSig, malformed, wrongMesh, missing, badTrust, stdinTooLarge] = await Promise.all([
    legate(['verify', jws, '--trust', join(dir, 'other.jwks.json')]),
    legate(['verify', tampered, '--trust', join(dir, 'ops.jwks.json')]),
    legate(['verify', notJws, '--trust', join(dir, 'ops.jwks.json')]),
    legate(['verify', jws, '--trust', join(dir, 'ops.jwks.json'), '--mesh', 'prod']),
    legate(['verify', join(dir, 'nope.jws'), '--trust', join(dir, 'ops.jwks.json')]),
    // A private key is never a trust file.
    legate(['verify', jws, '--trust', join(dir, 'ops.private.jwk.json')]),
    // The cap holds on stdin too, counted while reading.
    legate(['verify', '-', '--trust', join(dir, 'ops.jwks.json'), '--max-config-bytes', '100'], { stdin: jwsText }),
  ])
  refused(untrusted, 'untrusted_key')
  refused(badSig, 'bad_signature')
  refused(malformed, 'malformed')
  refused(wrongMesh, 'wrong_mesh')
  refused(missing, 'io_error')
  refused(badTrust, 'malformed')
  refused(stdinTooLarge, 'too_large')
})

test('sign refuses an invalid config (invalid_config, with paths) and keygen will not overwrite a key', async () => {
  const bad = join(dir, 'bad.yaml')
  await writeFile(bad, 'mesh: demo\nservices:\n  - name: api\n    endpoints: [javascript:alert(1)]\n')
  const signBad = await legate(['sign', bad, '--key', join(dir, 'ops.private.jwk.json')])
  refused(signBad, 'invalid_config')
  assert.match(signBad.stderr, /services\[0\]\.endpoints\[0\]/)

  const before = await readFile(join(dir, 'ops.private.jwk.json'), 'utf8')
  refused(await legate(['keygen', '--kid', 'ops', '--out', join(dir, 'ops')]), 'io_error')
  assert.equal(await readFile(join(dir, 'ops.private.jwk.json'), 'utf8'), before, 'the key is untouched')
  assert.equal((await legate(['keygen', '--kid', 'ops', '--out', join(dir, 'ops'), '--force'])).code, 0)
  assert.notEqual(await readFile(join(dir, 'ops.private.jwk.json'), 'utf8'), before)
})
