/**
 * `legate ambassador` as operators run it: usage errors exit 2 with a message, every flag
 * also comes from LEGATE_<FLAG>, and SIGTERM stops it cleanly.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { createSigner, tempDir, until } from './helpers.ts'

const bin = new URL('../../bin/legate.js', import.meta.url).pathname
const legate = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 })

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

test('usage errors exit 2 and say what is wrong', async () => {
  const signer = await createSigner()
  const dir = tempDir()
  const trust = join(dir, 'trust.json')
  writeFileSync(trust, JSON.stringify(signer.trust.jwks))
  const cases: Array<[string[], RegExp]> = [
    [['ambassador', '--mesh', 'demo', '--trust', trust], /exactly one of --control or --config-file/],
    [['ambassador', '--mesh', 'demo', '--trust', trust, '--control', 'http://127.0.0.1:1', '--config-file', 'x.jws'], /exactly one of --control or --config-file/],
    [['ambassador', '--mesh', 'demo', '--trust', trust, '--control', 'http://127.0.0.1:1', '--app', 'http://127.0.0.1:8080'], /--app needs --service/],
    [['ambassador', '--mesh', 'demo', '--trust', trust, '--control', 'http://127.0.0.1:1', '--log-level', 'loud'], /--log-level must be one of/],
    [['ambassador', '--mesh', 'demo', '--trust', trust, '--control', 'ftp://x'], /--control must be an http\(s\) URL/],
    [['ambassador', '--mesh', 'demo', '--trust', trust, '--control', 'http://127.0.0.1:1', '--admin', '70000'], /port must be 1\.\.65535/],
  ]
  for (const [args, message] of cases) {
    const r = legate(args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
  }
  // A trust file that is not one is a refused input: exit 1 with its code.
  writeFileSync(join(dir, 'bad.json'), '{"nokeys": true}')
  const r = legate(['ambassador', '--mesh', 'demo', '--trust', join(dir, 'bad.json'), '--control', 'http://127.0.0.1:1'])
  assert.equal(r.status, 1, r.stderr)
  assert.match(r.stderr, /^error: malformed: /)
})

test('every flag from LEGATE_<FLAG>; ready with the file config; SIGTERM exits 0', { timeout: 60_000 }, async () => {
  const signer = await createSigner()
  const dir = tempDir()
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  writeFileSync(join(dir, 'c.jws'), await signer.sign({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://127.0.0.1:9'] }], routes: [] }, 4))
  const admin = await freePort()
  const outbound = await freePort()
  const child = spawn(process.execPath, [bin, 'ambassador'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      LEGATE_CONFIG_FILE: join(dir, 'c.jws'),
      LEGATE_MESH: 'demo',
      LEGATE_TRUST: join(dir, 'trust.json'),
      LEGATE_ADMIN: String(admin),
      LEGATE_OUTBOUND: String(outbound),
      LEGATE_STATE: join(dir, 'state'),
      LEGATE_LOG_LEVEL: 'warn',
      LEGATE_DRAIN_DELAY: '0s',
    },
  })
  let stderr = ''
  child.stderr!.on('data', (c) => (stderr += c))
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)))
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 30_000, 100).catch((err) => {
      throw new Error(`${(err as Error).message}; stderr: ${stderr}`)
    })
    const cfg = (await (await fetch(`http://127.0.0.1:${admin}/config`)).json()) as { version: number; mesh: string }
    assert.deepEqual([cfg.mesh, cfg.version], ['demo', 4])
    await until(() => spawnSync('ls', [join(dir, 'state')], { encoding: 'utf8' }).stdout.includes('demo.last-known-good.jws'), 5000)
  } finally {
    child.kill('SIGTERM')
  }
  assert.equal(await exited, 0, stderr)
})

// The ambassador wants `node --no-memory-reducer` (worker/platforms/node/heap-tuning.ts); a
// node started without it is told so, once, at warn.
test('started with the ambassador V8 flags no warning; without them a warning names them', { timeout: 60_000 }, async () => {
  const { AMBASSADOR_NODE_FLAGS } = await import('../../worker/platforms/node/heap-tuning.ts')
  assert.deepEqual(AMBASSADOR_NODE_FLAGS, ['--no-memory-reducer'])
  const signer = await createSigner()
  const dir = tempDir()
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  writeFileSync(join(dir, 'c.jws'), await signer.sign({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://127.0.0.1:9'] }], routes: [] }, 1))
  const run = async (nodeFlags: readonly string[]) => {
    const admin = await freePort()
    const child = spawn(process.execPath, [...nodeFlags, bin, 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'demo', '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(await freePort()), '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout!.on('data', (c) => (out += c))
    child.stderr!.on('data', (c) => (out += c))
    const exited = new Promise((r) => child.on('exit', r))
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 30_000, 100).catch((err) => {
        throw new Error(`${(err as Error).message}; output: ${out}`)
      })
    } finally {
      child.kill('SIGTERM')
      await exited
    }
    return out
  }
  const withFlags = await run(AMBASSADOR_NODE_FLAGS)
  assert.doesNotMatch(withFlags, /V8 flags/, withFlags)
  const without = await run([])
  const line = without.split('\n').find((l) => l.includes('V8 flags'))
  assert.ok(line, without)
  assert.deepEqual(JSON.parse(line).missing, ['--no-memory-reducer'])
})
