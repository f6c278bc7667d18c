/**
 * The same core on other runtimes (smoke; the full case table is test/conformance/): the
 * workerd entry bundled with esbuild and run in Miniflare (gateway mode, admin under
 * /__legate/), and the Deno entry run by `npx deno`. Then the edge's own duties: config
 * from KV verified once per version per isolate, the LEGATE_MIN_VERSION floor, disabled
 * features listed, both wrangler environments bundling, edge:publish into the local KV that
 * `wrangler dev` serves, and `legate ambassador --state` on Bun and Deno.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { bundleWorkerd, createSigner, rawRequest, startUpstream, tempDir, until, type Signer, type Upstream } from './helpers.ts'

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
  const mf = new Miniflare({
    modules: true,
    script: await bundleWorkerd(),
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

async function workerdWith(bindings: Record<string, string>, kv?: Record<string, string>) {
  const mf = new Miniflare({
    modules: true,
    script: await bundleWorkerd(),
    compatibilityDate: '2026-04-20',
    kvNamespaces: ['LEGATE_KV'],
    bindings: { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(signer.trust.jwks), LEGATE_LOG_LEVEL: 'silent', ...bindings },
  })
  const ns = (await mf.getKVNamespace('LEGATE_KV')) as unknown as { put(key: string, value: string): Promise<void> }
  for (const [k, v] of Object.entries(kv ?? {})) await ns.put(k, v)
  const config = async () => (await (await mf.dispatchFetch('http://gw/__legate/config')).json()) as { version: number | null; lastError: { code: string } | null; edge: { verifications: number; disabled: Array<{ feature: string; where: string[] }> } }
  return { mf, ns, config }
}

const meshV = (ver: number, extra: object = {}) =>
  signer.sign({ mesh: 'demo', services: [{ name: 'echo', endpoints: [up.url], ...extra }], routes: [{ name: 'web', hostnames: ['web.example'], rules: [{ backendRefs: [{ name: 'echo' }] }] }] }, ver)

test('workerd + KV: each config version is verified once per isolate, however often KV is re-read', { timeout: 60_000 }, async () => {
  const [v10, v11] = [await meshV(10), await meshV(11)]
  const { mf, ns, config } = await workerdWith({ LEGATE_REFRESH_SECONDS: '0' }, { 'meshes/demo/current': v10 })
  try {
    for (let i = 0; i < 30; i++) assert.equal((await mf.dispatchFetch('http://web.example/x')).status, 200)
    let c = await config()
    assert.deepEqual([c.version, c.edge.verifications], [10, 1])
    await ns.put('meshes/demo/current', v11)
    await until(async () => (await config()).version === 11, 10_000, 20)
    for (let i = 0; i < 30; i++) await (await mf.dispatchFetch('http://web.example/x')).arrayBuffer()
    c = await config()
    assert.equal(c.edge.verifications, 2)
    // A stale KV edge answering the older version again: the isolate keeps 11 (ratchet), verifies nothing anew.
    await ns.put('meshes/demo/current', v10)
    for (let i = 0; i < 10; i++) await (await mf.dispatchFetch('http://web.example/x')).arrayBuffer()
    c = await config()
    assert.deepEqual([c.version, c.edge.verifications], [11, 2])
    assert.match(await (await mf.dispatchFetch('http://gw/__legate/metrics')).text(), /^legate_edge_config_verifications_total 2$/m)
  } finally {
    await mf.dispose()
  }
})

test('workerd + KV: LEGATE_MIN_VERSION refuses an older config in a fresh isolate; disabled features are listed', { timeout: 60_000 }, async () => {
  const { mf, ns, config } = await workerdWith({ LEGATE_REFRESH_SECONDS: '0', LEGATE_MIN_VERSION: '20' }, { 'meshes/demo/current': await meshV(19) })
  try {
    const ready = await mf.dispatchFetch('http://gw/__legate/readyz')
    assert.equal(ready.status, 503)
    assert.match(((await ready.json()) as { reason: string }).reason, /version_not_newer: .*LEGATE_MIN_VERSION/)
    assert.equal((await config()).edge.verifications, 0)
    await ns.put('meshes/demo/current', await meshV(20, { healthCheck: { path: '/healthz' } }))
    await until(async () => (await config()).version === 20, 10_000, 20)
    const disabled = (await config()).edge.disabled.find((d) => d.feature === 'active health checks')
    assert.deepEqual(disabled?.where, ['echo'])
  } finally {
    await mf.dispose()
  }
})

async function wranglerDryRun(envName?: string): Promise<string> {
  const outdir = tempDir('legate-wrangler-')
  const args = [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--outdir', outdir, ...(envName === undefined ? ['--env', ''] : ['--env', envName])]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' } })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  assert.equal(code, 0, output)
  return output
}

test('npx wrangler deploy --dry-run bundles the ambassador (top level) and the control (--env control)', { timeout: 120_000 }, async () => {
  const [ambassador, control] = await Promise.all([wranglerDryRun(), wranglerDryRun('control')])
  assert.match(ambassador, /env\.LEGATE_KV/)
  assert.match(ambassador, /env\.LEGATE_RATE_LIMITER \(RateLimiterObject\)/)
  assert.match(control, /env\.CONTROL_MESH \(ControlMesh\)/)
})

test('npm run edge:publish puts a verified config into the local KV that wrangler dev serves from', { timeout: 90_000 }, async () => {
  const dir = tempDir()
  const jws = await meshV(30)
  writeFileSync(join(dir, 'c.jws'), jws)
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/edge-publish.ts', join(dir, 'c.jws'), '--trust', join(dir, 'trust.json'), '--persist-to', join(dir, 'state'), '--dev-vars', join(dir, '.dev.vars')], { cwd: root, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).ver, 30)
  assert.match(readFileSync(join(dir, '.dev.vars'), 'utf8'), /^LEGATE_TRUST='\{"keys":/m)
  // The same persistence wrangler dev uses (--persist-to DIR → DIR/v3/kv, the namespace by its id in wrangler.toml).
  const mf = new Miniflare({ modules: true, script: await bundleWorkerd(), compatibilityDate: '2026-04-20', kvNamespaces: { LEGATE_KV: '00000000000000000000000000000000' }, kvPersist: join(dir, 'state/v3/kv'), bindings: { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(signer.trust.jwks), LEGATE_LOG_LEVEL: 'silent' } })
  try {
    assert.equal(((await (await mf.dispatchFetch('http://gw/__legate/config')).json()) as { version: number }).version, 30)
    assert.equal((await mf.dispatchFetch('http://web.example/x')).status, 200)
  } finally {
    await mf.dispose()
  }
  // A config the trust does not cover is refused before anything is written.
  const other = await createSigner('other')
  writeFileSync(join(dir, 'bad.jws'), await other.sign({ mesh: 'demo', services: [] }, 31))
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/edge-publish.ts', join(dir, 'bad.jws'), '--trust', join(dir, 'trust.json'), '--persist-to', join(dir, 'state'), '--dev-vars', join(dir, '.dev.vars')], { cwd: root, encoding: 'utf8' })
  assert.equal(bad.status, 1)
  assert.match(bad.stderr, /error: untrusted_key/)
})

const hasBun = spawnSync(join(root, 'node_modules/.bin/bun'), ['--version']).status === 0

for (const runtime of ['bun', 'deno'] as const) {
  const cmd = runtime === 'bun' ? [join(root, 'node_modules/.bin/bun'), 'bin/legate.js'] : [join(root, 'node_modules/.bin/deno'), 'run', '-A', 'bin/legate.js']
  const present = runtime === 'bun' ? hasBun : hasDeno
  test(`legate ambassador on ${runtime}: --state keeps the last-known-good and serves it at once when the control is down`, { timeout: 90_000, skip: present ? false : `${runtime} not installed` }, async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
    writeFileSync(join(dir, 'c.jws'), jws)
    const run = async (source: string[]) => {
      const { createServer } = await import('node:net')
      const free = () => new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
      const [admin, outbound] = [await free(), await free()]
      const child = spawn(cmd[0]!, [...cmd.slice(1), 'ambassador', ...source, '--mesh', 'demo', '--trust', join(dir, 'trust.json'), '--state', join(dir, 'state'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'silent'], { cwd: root, stdio: 'ignore' })
      const exited = new Promise((r) => child.once('exit', r))
      return { admin, outbound, stop: async () => { child.kill('SIGTERM'); await exited } }
    }
    const first = await run(['--config-file', join(dir, 'c.jws')])
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${first.admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
      await until(async () => existsSync(join(dir, 'state/demo.last-known-good.jws')), 5_000, 50)
    } finally {
      await first.stop()
    }
    // Restarted against a control nobody runs: the persisted version serves at once.
    const second = await run(['--control', 'http://127.0.0.1:9'])
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${second.admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
      const cfg = (await (await fetch(`http://127.0.0.1:${second.admin}/config`)).json()) as { version: number; lastError: { code: string } | null }
      assert.equal(cfg.version, 1)
      const res = await rawRequest(second.outbound, { path: '/api/x', headers: { host: 'web.example' } })
      assert.equal(res.status, 200)
    } finally {
      await second.stop()
    }
  })
}

test('npx wrangler dev serves the ambassador from what edge:publish wrote', { timeout: 120_000 }, async () => {
  const dir = tempDir()
  writeFileSync(join(dir, 'c.jws'), await meshV(40))
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/edge-publish.ts', join(dir, 'c.jws'), '--trust', join(dir, 'trust.json'), '--persist-to', join(dir, 'state'), '--dev-vars', join(dir, '.dev.vars')], { cwd: root, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const { createServer } = await import('node:net')
  const port = await new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
  // The repository's own .dev.vars is left alone: the trust comes as --var, no env file is read.
  const args = [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', join(dir, 'state'), '--env', '', '--env-file', '/dev/null', '--var', `LEGATE_TRUST:${JSON.stringify(signer.trust.jwks)}`, '--var', 'LEGATE_LOG_LEVEL:silent']
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' } })
  let output = ''
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${port}/__legate/readyz`).catch(() => undefined))?.status === 200, 60_000, 200).catch((err) => {
      throw new Error(`${err.message}; wrangler: ${output.slice(-2000)}`)
    })
    assert.equal(((await (await fetch(`http://127.0.0.1:${port}/__legate/config`)).json()) as { version: number }).version, 40)
    const res = await rawRequest(port, { path: '/hello', headers: { host: 'web.example' } })
    assert.equal(res.status, 200)
    assert.equal(JSON.parse(res.body).name, 'echo')
  } finally {
    // wrangler runs workerd as its child: end the group we started.
    if (child.pid) process.kill(-child.pid, 'SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
})

for (const runtime of ['bun', 'deno'] as const) {
  const cmd = runtime === 'bun' ? [join(root, 'node_modules/.bin/bun'), 'bin/legate.js'] : [join(root, 'node_modules/.bin/deno'), 'run', '-A', 'bin/legate.js']
  test(`legate ambassador on ${runtime}: SIGTERM lets a request in flight finish, then exits 0`, { timeout: 90_000, skip: (runtime === 'bun' ? hasBun : hasDeno) ? false : `${runtime} not installed` }, async () => {
    const slow = await startUpstream('slow', (req, res) => void setTimeout(() => res.end('slow-ok'), 800))
    const dir = tempDir()
    writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
    writeFileSync(join(dir, 'c.jws'), await signer.sign({ mesh: 'demo', services: [{ name: 'slow', endpoints: [slow.url] }] }, 1))
    const { createServer } = await import('node:net')
    const free = () => new Promise<number>((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
    const [admin, outbound] = [await free(), await free()]
    const child = spawn(cmd[0]!, [...cmd.slice(1), 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'demo', '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'silent'], { cwd: root, stdio: 'ignore' })
    const exited = new Promise<number | null>((r) => child.once('exit', r))
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
      const inFlight = rawRequest(outbound, { path: '/', headers: { host: 'slow' } })
      await until(() => slow.seen.length === 1, 5_000, 10)
      child.kill('SIGTERM')
      const res = await inFlight
      assert.deepEqual([res.status, res.body], [200, 'slow-ok'])
      assert.equal(await exited, 0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await slow.close()
    }
  })
}
