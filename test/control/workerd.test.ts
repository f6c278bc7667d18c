/**
 * The control worker in workerd (miniflare, real port): control/entry.workers.ts bundled as
 * wrangler would, over KV + Durable Objects. Checks the §4 flow, the KV layout an edge
 * ambassador reads, a long-poll wake, and that `wrangler deploy --dry-run --env control` bundles.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startWorkerd, type Workerd } from '../stores/workerd.ts'
import { createPublisher, type Publisher } from './fixtures.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
let pub: Publisher
let workerd: Workerd

before(async () => {
  pub = await createPublisher('ops')
  workerd = await startWorkerd(join(ROOT, 'control/entry.workers.ts'), { LEGATE_TRUST: JSON.stringify(pub.jwks), LEGATE_PUBLISH_TOKEN: 'tok' })
})
after(() => workerd?.stop())

const put = (jws: string, token = 'tok') => fetch(`${workerd.url}/v1/meshes/demo/config`, { method: 'PUT', body: jws, headers: { authorization: `Bearer ${token}` } })

describe('control worker in workerd (KV + Durable Object)', () => {
  it('publishes, refuses, serves, and lays KV out as CONTRACT §4 says', async () => {
    assert.equal((await fetch(`${workerd.url}/healthz`)).status, 200)
    assert.equal((await fetch(`${workerd.url}/v1/meshes/demo/config`)).status, 404)
    const v1 = await pub.sign(1)
    const created = await put(v1)
    assert.equal(created.status, 201, await created.clone().text())
    assert.equal((await created.json()).version, 1)
    assert.equal((await put(await pub.sign(2), 'wrong')).status, 401)
    const stale = await put(v1)
    assert.equal(stale.status, 409)
    assert.match((await stale.json()).message, /current version 1/)
    const untrusted = await put(await (await createPublisher('other')).sign(3))
    assert.equal(untrusted.status, 422)
    assert.equal((await untrusted.json()).error, 'untrusted_key')

    const got = await fetch(`${workerd.url}/v1/meshes/demo/config`)
    assert.equal(got.headers.get('etag'), '"1"')
    assert.equal(await got.text(), v1)
    const kv = (await workerd.mf.getKVNamespace('LEGATE_KV')) as unknown as { get(key: string): Promise<string | null> }
    assert.equal(await kv.get('meshes/demo/current'), v1)
    assert.equal(await kv.get('meshes/demo/versions/1'), v1)
  })

  it('a long-poll wakes within 100 ms of a publish', async () => {
    const current = Number((await fetch(`${workerd.url}/v1/meshes/demo/config`)).headers.get('etag')?.replace(/"/g, '') ?? 0)
    const next = await pub.sign(current + 1)
    const held = fetch(`${workerd.url}/v1/meshes/demo/config?wait=10`, { headers: { 'if-none-match': `"${current}"` } }).then(async (r) => ({ status: r.status, body: await r.text(), at: performance.now() }))
    await new Promise((r) => setTimeout(r, 300))
    const t0 = performance.now()
    assert.equal((await put(next)).status, 201)
    const stored = performance.now()
    const res = await held
    assert.equal(res.status, 200)
    assert.equal(res.body, next)
    console.log(`# long-poll wake in workerd: ${(res.at - t0).toFixed(1)} ms from PUT sent to GET answered`)
    assert.ok(res.at - stored < 100, `woke ${res.at - stored} ms after the publish was stored`)
  })

  it('npx wrangler deploy --dry-run --env control bundles', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'legate-wrangler-'))
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(process.execPath, [join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--env', 'control', '--outdir', outdir], {
          cwd: ROOT,
          env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
        })
        let output = ''
        child.stdout.on('data', (d) => (output += d))
        child.stderr.on('data', (d) => (output += d))
        child.on('close', (code) => resolve({ code, output }))
      })
      assert.equal(code, 0, output)
      assert.match(output, /CONTROL_MESH \(ControlMesh\)\s+Durable Object/)
      assert.match(output, /LEGATE_KV/)
      assert.ok((await readdir(outdir)).some((f) => f.endsWith('.js')))
    } finally {
      await rm(outdir, { recursive: true, force: true })
    }
  })
})
