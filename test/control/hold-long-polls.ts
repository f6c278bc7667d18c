/**
 * Holds N long-polls on one `legate control` process and reports its RSS (not part of
 * `npm test`; the suite holds 1,000):
 *   node --import tsx test/control/hold-long-polls.ts 10000
 * Connections open in batches (the listen backlog is finite); then one publish must answer
 * every one of them with 200.
 * @module
 */
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublisher } from './fixtures.ts'
import { rssMiB, spawnControl, writeTrust } from './spawn-control.ts'

const n = Number(process.argv[2] ?? 10_000)
const pub = await createPublisher('ops')
const dir = await mkdtemp(join(tmpdir(), 'legate-hold-'))
const control = await spawnControl({ store: 'memory:', trust: await writeTrust(dir, pub.jwks) })
const put = async (v: number) => {
  const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', body: await pub.sign(v) })
  if (res.status !== 201) throw new Error(`publish ${v}: ${res.status}`)
}

try {
  await put(1)
  const idle = await rssMiB(control.pid)
  let answered = 0
  let failed = 0
  let lastAt = 0
  const polls: Promise<void>[] = []
  const open = () =>
    new Promise<void>((resolve) => {
      const req = request(`${control.url}/v1/meshes/demo/config?wait=60`, { agent: false, headers: { 'if-none-match': '"1"' } }, (res) => {
        res.resume()
        res.on('end', () => {
          if (res.statusCode === 200) answered++
          else failed++
          lastAt = performance.now()
          resolve()
        })
      })
      req.on('error', () => {
        failed++
        resolve()
      })
      req.end()
    })
  for (let i = 0; i < n; i += 500) {
    for (let j = i; j < Math.min(n, i + 500); j++) polls.push(open())
    await new Promise((r) => setTimeout(r, 50))
  }
  await new Promise((r) => setTimeout(r, 3000))
  const holding = await rssMiB(control.pid)
  const t0 = performance.now()
  await put(2)
  await Promise.all(polls)
  console.log(`${n} held long-polls: control RSS ${idle} MiB idle → ${holding} MiB holding (${(((holding - idle) * 1024) / n).toFixed(1)} KiB each); after one publish ${answered} answered 200, ${failed} failed, the last ${(lastAt - t0).toFixed(0)} ms after the publish`)
} finally {
  await control.kill()
  await rm(dir, { recursive: true, force: true })
}
