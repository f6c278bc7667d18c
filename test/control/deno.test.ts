/**
 * control/entry.deno.ts in a real Deno process over Deno KV: publish, refuse, serve, and a
 * long-poll woken by a publish. Skipped with a message only when deno is missing.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../stores/redis-server.ts'
import { createPublisher, type Publisher } from './fixtures.ts'
import { writeTrust } from './spawn-control.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DENO = join(ROOT, 'node_modules/.bin/deno')
const hasDeno = spawnSync(DENO, ['--version']).status === 0

describe('control on Deno (entry.deno.ts, Deno KV)', { skip: hasDeno ? false : `deno is not installed (${DENO})` }, () => {
  let pub: Publisher
  let dir: string
  let child: ChildProcess
  let url: string

  before(async () => {
    pub = await createPublisher('ops')
    dir = await mkdtemp(join(tmpdir(), 'legate-deno-control-'))
    const port = await freePort()
    child = spawn(DENO, ['run', '--unstable-kv', '-A', join(ROOT, 'control/entry.deno.ts')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', LEGATE_TRUST: await writeTrust(dir, pub.jwks), LEGATE_PORT: String(port), LEGATE_HOST: '127.0.0.1', LEGATE_KV: join(dir, 'kv.sqlite'), LEGATE_PUBLISH_TOKEN: 'tok' },
    })
    let out = ''
    let err = ''
    child.stderr!.on('data', (d) => (err += d))
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deno control did not start: ${err}`)), 90_000)
      child.once('exit', (code) => reject(new Error(`deno control exited ${code}: ${err}`)))
      child.stdout!.on('data', (d) => {
        out += d
        if (/listening on/.test(out)) {
          clearTimeout(timer)
          resolve(`http://127.0.0.1:${port}`)
        }
      })
    })
  })
  after(async () => {
    if (child && child.exitCode === null) {
      child.removeAllListeners('exit')
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    }
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('publishes, refuses, serves and wakes a long-poll', async () => {
    const put = (jws: string, token = 'tok') => fetch(`${url}/v1/meshes/demo/config`, { method: 'PUT', body: jws, headers: { authorization: `Bearer ${token}` } })
    assert.equal((await fetch(`${url}/v1/meshes/demo/config`)).status, 404)
    const v1 = await pub.sign(1)
    assert.equal((await put(v1)).status, 201)
    assert.equal((await put(v1)).status, 409)
    assert.equal((await put(await pub.sign(2), 'nope')).status, 401)
    const got = await fetch(`${url}/v1/meshes/demo/config`)
    assert.equal(got.headers.get('etag'), '"1"')
    assert.equal(await got.text(), v1)

    const v2 = await pub.sign(2)
    const held = fetch(`${url}/v1/meshes/demo/config?wait=10`, { headers: { 'if-none-match': '"1"' } }).then(async (r) => ({ status: r.status, body: await r.text(), at: performance.now() }))
    await new Promise((r) => setTimeout(r, 300))
    const t0 = performance.now()
    assert.equal((await put(v2)).status, 201)
    const stored = performance.now()
    const res = await held
    assert.equal(res.status, 200)
    assert.equal(res.body, v2)
    console.log(`# long-poll wake on Deno (Deno KV watch): ${(res.at - t0).toFixed(1)} ms from PUT sent to GET answered`)
    assert.ok(res.at - stored < 100, `woke ${res.at - stored} ms after the publish was stored`)
  })
})
