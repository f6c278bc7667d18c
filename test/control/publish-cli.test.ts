/**
 * `legate publish` against a real control: prints {mesh, version, digest}; each refusal is
 * `error: <code>: <message>` with exit 1 (409 names the current version); an unreachable
 * control is `error: unreachable: …`; bad usage exits 2.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startControl, type NodeControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { configDigest } from '../../protocol/index.ts'
import { legate, tempDir, REFUSAL_RE } from '../cli/legate.ts'
import { freePort } from '../stores/redis-server.ts'
import { createPublisher, type Publisher } from './fixtures.ts'

let pub: Publisher
let control: NodeControl
let dir: string
let cleanup: () => Promise<void>

before(async () => {
  pub = await createPublisher('ops')
  control = await startControl({ store: memoryStore(), trust: pub.trust, publishToken: 'tok', port: 0, hostname: '127.0.0.1' })
  ;({ dir, cleanup } = await tempDir())
})
after(async () => {
  await control?.close()
  await cleanup?.()
})

async function file(name: string, jws: string) {
  const path = join(dir, name)
  await writeFile(path, jws + '\n')
  return path
}

describe('legate publish', () => {
  it('publishes and prints {mesh, version, digest}; the env supplies --control and --token', async () => {
    const jws = await pub.sign(10)
    const res = await legate(['publish', await file('v10.jws', jws), '--control', control.url, '--token', 'tok'])
    assert.equal(res.code, 0, res.stderr)
    assert.deepEqual(JSON.parse(res.stdout), { mesh: 'demo', version: 10, digest: await configDigest(jws) })
    const viaEnv = await legate(['publish', await file('v11.jws', await pub.sign(11))], { env: { LEGATE_CONTROL: control.url + '/', LEGATE_TOKEN: 'tok' } })
    assert.equal(viaEnv.code, 0, viaEnv.stderr)
    assert.equal(JSON.parse(viaEnv.stdout).version, 11)
  })

  it('409: says the current version', async () => {
    const res = await legate(['publish', await file('v5.jws', await pub.sign(5)), '--control', control.url, '--token', 'tok'])
    assert.equal(res.code, 1)
    assert.match(res.stderr, REFUSAL_RE)
    assert.match(res.stderr, /^error: version_not_newer: version 5 is not newer than the current version 1[01] of mesh "demo"/m)
  })

  it('401, 422 and 400 come back as their codes; 400 lists the issue paths', async () => {
    const unauthorized = await legate(['publish', await file('v20.jws', await pub.sign(20)), '--control', control.url, '--token', 'wrong'])
    assert.equal(unauthorized.code, 1)
    assert.match(unauthorized.stderr, /^error: unauthorized: /m)
    const untrusted = await legate(['publish', await file('other.jws', await (await createPublisher('other')).sign(21)), '--control', control.url, '--token', 'tok'])
    assert.equal(untrusted.code, 1)
    assert.match(untrusted.stderr, /^error: untrusted_key: /m)
    const claims = pub.claims(22)
    claims.config = { mesh: 'demo', services: [{ name: 'Bad_Name', endpoints: [] }] }
    const invalid = await legate(['publish', await file('invalid.jws', await pub.raw(claims)), '--control', control.url, '--token', 'tok'])
    assert.equal(invalid.code, 1)
    assert.match(invalid.stderr, /^error: invalid_config: /m)
    assert.match(invalid.stderr, /^ {2}services\[0\]\.name: /m)
  })

  it('an unreachable control is error: unreachable; bad usage exits 2', async () => {
    const port = await freePort()
    const res = await legate(['publish', await file('v30.jws', await pub.sign(30)), '--control', `http://127.0.0.1:${port}`])
    assert.equal(res.code, 1)
    assert.match(res.stderr, /^error: unreachable: cannot reach the control at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/m)
    assert.equal((await legate(['publish', await file('v31.jws', await pub.sign(31)), '--control', 'not a url'])).code, 2)
    assert.equal((await legate(['publish', await file('v32.jws', await pub.sign(32))])).code, 2)
    const garbage = await legate(['publish', await file('garbage.jws', 'hello'), '--control', control.url])
    assert.equal(garbage.code, 1)
    assert.match(garbage.stderr, /^error: malformed: /m)
  })
})

describe('legate control', () => {
  it('refuses an unknown --store with exit 2, and a missing trust file with exit 1', async () => {
    const trust = join(dir, 'trust.json')
    await writeFile(trust, JSON.stringify(pub.jwks))
    const bad = await legate(['control', '--trust', trust, '--store', 'postgres://x', '--port', '0'])
    assert.equal(bad.code, 2, bad.stderr)
    assert.match(bad.stderr, /unknown store/)
    const missing = await legate(['control', '--trust', join(dir, 'nope.json'), '--port', '0'])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^error: io_error: /m)
  })
})
