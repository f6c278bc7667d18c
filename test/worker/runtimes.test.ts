/**
 * The same core on other runtimes (smoke): the workerd entry bundled with esbuild and run in
 * Miniflare (gateway mode, admin under /__legate/), and the Deno entry run by `npx deno`.
 * Both route by Host to a real upstream started here, answer 404 no_route, and report ready.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { createSigner, rawRequest, startUpstream, tempDir, until, type Signer, type Upstream } from './helpers.ts'

let up: Upstream, signer: Signer, jws: string
const root = new URL('../../', import.meta.url).pathname

before(async () => {
  up = await startUpstream('echo')
  signer = await createSigner()
  jws = await signer.sign(
    {
      mesh: 'demo',
      services: [{ name: 'echo', endpoints: [up.url] }],
      routes: [{ name: 'web', hostnames: ['web.example'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'echo' }] }] }],
    },
    1,
  )
})
after(() => up?.close())

test('workerd (Miniflare): routing, 404 no_route and admin under /__legate/', { timeout: 60_000 }, async () => {
  const out = join(tempDir(), 'worker.js')
  await build({
    entryPoints: [join(root, 'worker/entry/workerd.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    target: 'es2022',
    outfile: out,
    logLevel: 'silent',
  })
  const mf = new Miniflare({
    modules: true,
    script: readFileSync(out, 'utf8'),
    compatibilityDate: '2026-04-01',
    bindings: { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(signer.trust.jwks), LEGATE_CONFIG: jws, LEGATE_LOG_LEVEL: 'silent' },
  })
  try {
    const res = await mf.dispatchFetch('http://web.example/api/hello?x=1', { headers: { 'x-request-id': 'wd-1' } })
    assert.equal(res.status, 200)
    const body = (await res.json()) as { name: string; url: string; headers: Record<string, string> }
    assert.equal(body.name, 'echo')
    assert.equal(body.url, '/api/hello?x=1')
    assert.equal(body.headers['x-request-id'], 'wd-1')
    assert.match(body.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    const miss = await mf.dispatchFetch('http://web.example/other')
    assert.equal(miss.status, 404)
    assert.equal(((await miss.json()) as { error: string }).error, 'no_route')
    const ready = await mf.dispatchFetch('http://web.example/__legate/readyz')
    assert.equal(ready.status, 200)
    const config = (await (await mf.dispatchFetch('http://web.example/__legate/config')).json()) as { version: number }
    assert.equal(config.version, 1)
    assert.match(await (await mf.dispatchFetch('http://web.example/__legate/metrics')).text(), /legate_requests_total\{direction="gateway",route="web",service="echo",code="200"\} 1/)
  } finally {
    await mf.dispose()
  }
})

const hasDeno = spawnSync('npx', ['--no-install', 'deno', '--version'], { cwd: root }).status === 0

test('Deno (npx deno run): routing, 404 no_route and admin', { timeout: 90_000, skip: hasDeno ? false : 'deno not installed' }, async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  writeFileSync(join(dir, 'c.jws'), jws)
  const { createServer } = await import('node:net')
  const free = () =>
    new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
  const admin = await free()
  const outbound = await free()
  let child: ChildProcess | undefined
  try {
    child = spawn('npx', ['--no-install', 'deno', 'run', '-A', 'worker/entry/deno.ts'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LEGATE_MESH: 'demo', LEGATE_TRUST: join(dir, 'trust.json'), LEGATE_CONFIG_FILE: join(dir, 'c.jws'), LEGATE_ADMIN: String(admin), LEGATE_OUTBOUND: String(outbound), LEGATE_LOG_LEVEL: 'silent' },
      detached: true,
    })
    let stderr = ''
    child.stderr!.on('data', (c) => (stderr += c))
    await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 200).catch((err) => {
      throw new Error(`${err.message}; deno stderr: ${stderr}`)
    })
    // Raw requests: fetch will not send a Host header of our choosing.
    const res = await rawRequest(outbound, { path: '/api/x', headers: { host: 'web.example' } })
    assert.equal(res.status, 200)
    const body = JSON.parse(res.body) as { name: string; headers: Record<string, string> }
    assert.equal(body.name, 'echo')
    assert.equal(body.headers['x-forwarded-for'], '127.0.0.1')
    const miss = await rawRequest(outbound, { path: '/nope', headers: { host: 'web.example' } })
    assert.equal(miss.status, 404)
    assert.equal(JSON.parse(miss.body).error, 'no_route')
  } finally {
    // npx starts deno as a child: end the whole group we started.
    if (child?.pid) process.kill(-child.pid, 'SIGTERM')
  }
})
