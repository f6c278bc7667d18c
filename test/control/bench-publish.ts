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
import { createPublisher } from './fixtures.ts'

const count = Number(process.argv[2] ?? 300)
const pub = await createPublisher('ops')
const signed: string[] = []
for (let v = 1; v <= count; v++) signed.push(await pub.sign(v))

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!

export async function measure(name: string, store: ConfigStore) {
  const control = await startControl({ store, trust: pub.trust, port: 0, hostname: '127.0.0.1' })
  const times: number[] = []
  for (const jws of signed) {
    const t0 = performance.now()
    const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', body: jws })
    await res.arrayBuffer()
    if (res.status !== 201) throw new Error(`${name}: ${res.status}`)
    times.push(performance.now() - t0)
  }
  await control.close()
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
