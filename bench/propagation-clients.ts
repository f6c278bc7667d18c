/**
 * N simulated ambassadors long-polling the control: each holds
 * `GET /v1/meshes/{mesh}/config?wait=W` with `If-None-Match: "<ver>"`, records the wall time
 * (µs precision) at which a newer version arrived in full, and re-arms with it. They do not
 * verify the signature (that cost is the ambassador's, measured in the scale scenario).
 * Prints `ready` once every poll is sent; on stdin `done`, prints a JSON line
 * `{arrivals: {<ver>: [epochMs, ...]}, errors}` and exits.
 *
 *   node --import tsx bench/propagation-clients.ts URL MESH N
 * @module
 */
import { Pool } from 'undici'
import { performance } from 'node:perf_hooks'

const [base, mesh, nArg] = process.argv.slice(2)
const n = Number(nArg)
const pool = new Pool(base!, { connections: n, pipelining: 1, headersTimeout: 90_000, bodyTimeout: 90_000, keepAliveTimeout: 120_000 })
const now = () => performance.timeOrigin + performance.now()
const arrivals: Record<string, number[]> = {}
let errors = 0
let stopping = false
const path = `/v1/meshes/${mesh}/config?wait=30`

async function client(ver: number) {
  while (!stopping) {
    try {
      const res = await pool.request({ path, method: 'GET', headers: { 'if-none-match': `"${ver}"` } })
      const body = await res.body.text()
      if (res.statusCode === 200) {
        const t = now()
        const etag = Number(String(res.headers.etag ?? '').replace(/"/g, ''))
        ;(arrivals[etag] ??= []).push(t)
        if (!body) errors++
        ver = etag
      } else if (res.statusCode !== 304) errors++
    } catch {
      if (stopping) return
      errors++
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

const first = await pool.request({ path: `/v1/meshes/${mesh}/config`, method: 'GET' })
await first.body.text()
const ver0 = Number(String(first.headers.etag ?? '0').replace(/"/g, ''))
for (let i = 0; i < n; i++) void client(ver0)
// Give the control time to park every poll before saying ready.
setTimeout(() => process.stdout.write('ready\n'), 1500)
process.stdin.on('data', (b) => {
  if (!b.toString().includes('done')) return
  stopping = true
  process.stdout.write(JSON.stringify({ arrivals, errors }) + '\n')
  process.exit(0)
})
