/**
 * Publish latency per store, measured over real sockets (not part of `npm test`):
 *   node --import tsx test/control/bench-publish.ts [count]
 * Sequential PUTs of pre-signed configs to a control on 127.0.0.1; prints p50/p99 per store.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { fileStore } from '../../control/stores/file.ts'
import { redisStore } from '../../control/stores/redis.ts'
import type { ConfigStore } from '../../control/store.ts'
import { hasRedis, startRedis } from '../stores/redis-server.ts'
import { startWorkerd } from '../stores/workerd.ts'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from '../stores/redis-server.ts'
import { createPublisher } from './fixtures.ts'
import { writeTrust } from './spawn-control.ts'

const count = Number(process.argv[2] ?? 300)
const pub = await createPublisher('ops')
const signed: string[] = []
for (let v = 1; v <= count; v++) signed.push(await pub.sign(v))

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

async function measure(name: string, store: ConfigStore) {
  const control = await startControl({ store, trust: pub.trust, port: 0, hostname: '127.0.0.1' })
  await measureUrl(name, control.url)
  await control.close()
}

async function measureUrl(name: string, url: string) {
  const times: number[] = []
  for (const jws of signed) {
    const t0 = performance.now()
    const res = await fetch(`${url}/v1/meshes/demo/config`, { method: 'PUT', body: jws })
    await res.arrayBuffer()
    if (res.status !== 201) throw new Error(`${name}: ${res.status}`)
    times.push(performance.now() - t0)
  }
  // The first tenth warms the JIT and connections.
  const sorted = times.slice(Math.floor(count / 10)).sort((a, b) => a - b)
  console.log(`${name.padEnd(8)} publish p50 ${pct(sorted, 50).toFixed(2)} ms  p99 ${pct(sorted, 99).toFixed(2)} ms  (${sorted.length} sequential PUTs, ${signed[0]!.length}-byte JWS)`)
}

await measure('memory', memoryStore())
const dir = await mkdtemp(join(tmpdir(), 'legate-bench-'))
await measure('file', fileStore({ dir }))
await rm(dir, { recursive: true, force: true })
if (hasRedis()) {
  const redis = await startRedis()
  await measure('redis', redisStore({ url: redis.url }))
  await redis.stop()
}

// The Workers entry in workerd (miniflare adds a proxy hop), and the Deno entry over Deno KV.
const root = fileURLToPath(new URL('../../', import.meta.url))
const workerd = await startWorkerd(join(root, 'control/entry.workers.ts'), { LEGATE_TRUST: JSON.stringify(pub.jwks) })
await measureUrl('kv+do', workerd.url)
await workerd.stop()

const denoDir = await mkdtemp(join(tmpdir(), 'legate-bench-deno-'))
const port = await freePort()
const deno = spawn(join(root, 'node_modules/.bin/deno'), ['run', '--unstable-kv', '-A', join(root, 'control/entry.deno.ts')], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, LEGATE_TRUST: await writeTrust(denoDir, pub.jwks), LEGATE_PORT: String(port), LEGATE_HOST: '127.0.0.1', LEGATE_KV: join(denoDir, 'kv.sqlite') },
})
await new Promise<void>((resolve) => deno.stdout!.on('data', (d) => /listening/.test(String(d)) && resolve()))
await measureUrl('deno-kv', `http://127.0.0.1:${port}`)
deno.kill('SIGTERM')
await rm(denoDir, { recursive: true, force: true })
