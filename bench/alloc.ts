/**
 * Bytes allocated per forwarded request, from V8's sampling heap profiler (objects collected
 * by minor and major GC included, so a request's short-lived garbage counts), for the bare
 * Node forwarder and one or more legate builds:
 *
 *   node --import tsx bench/alloc.ts [--legate 'name=path/to/legate.js' ...] [--requests 10000] [--top 25] [--log-level info]
 *
 * Each peer is started with bench/lib/alloc-preload.mjs, warmed up, then profiled over
 * exactly `--requests` requests (100-byte GET through the fixed upstream, 16 at a time, from
 * this process, which is not profiled). Prints KB per request and the functions that
 * allocate most (bytes per request by self size). Allocation does not depend on the machine's
 * load, so one run is enough, unlike CPU figures.
 * @module
 */
import { mkdtempSync, existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { installCleanup, start, stop, stdoutTo, waitForPort, sleep, PROXY_CORE, type Started } from './lib/proc.ts'
import { prepareLegate } from './lib/legate.ts'
import { AMBASSADOR_NODE_FLAGS } from '../worker/platforms/node/heap-tuning.ts'

const { values } = parseArgs({
  options: {
    legate: { type: 'string', multiple: true, default: ['legate=bin/legate.js'] },
    requests: { type: 'string', default: '10000' },
    top: { type: 'string', default: '25' },
    'log-level': { type: 'string', default: 'info' },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const PRELOAD = join(ROOT, 'bench/lib/alloc-preload.mjs')
const PORT = 19700
const requests = Number(values.requests)
const top = Number(values.top)

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-alloc-'))
const upstreamUrl = `http://127.0.0.1:${PORT}`
const files = prepareLegate(dir, upstreamUrl)
const upstream = start('upstream', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(PORT) } })
await waitForPort(PORT, upstream)

interface Peer {
  name: string
  port: number
  host?: string
  launch(out: string): Started
}
const peers: Peer[] = [
  {
    name: 'bare node:http + undici',
    port: PORT + 1,
    launch(out) {
      return start('bare', process.execPath, ['--import', 'tsx', '--import', PRELOAD, join(ROOT, 'bench/forwarders/node-undici.ts')], { core: PROXY_CORE, env: { PORT: String(this.port), UPSTREAM: upstreamUrl, LEGATE_ALLOC_OUT: out } })
    },
  },
]
for (const [i, spec] of values.legate!.entries()) {
  const eq = spec.indexOf('=')
  const name = eq > 0 ? spec.slice(0, eq) : `legate ${i + 1}`
  const entry = resolve(ROOT, eq > 0 ? spec.slice(eq + 1) : spec)
  const port = PORT + 10 + 2 * i
  peers.push({
    name,
    port,
    host: files.host,
    launch(out) {
      const args = [entry, 'ambassador', '--config-file', files.configFile, '--mesh', files.mesh, '--trust', files.jwks, '--outbound', String(port), '--admin', String(port + 1), '--log-level', values['log-level']!]
      process.env.LEGATE_ALLOC_OUT = out
      const q = stdoutTo(process.execPath, [...AMBASSADOR_NODE_FLAGS, '--import', PRELOAD, ...args])
      return start(name, q.cmd, q.args, { core: PROXY_CORE })
    },
  })
}

/** Exactly `n` requests, `concurrency` at a time; throws on a status other than 200. */
async function drive(peer: Peer, n: number, concurrency = 16) {
  const pool = new Pool(`http://127.0.0.1:${peer.port}`, { connections: concurrency })
  let left = n
  const worker = async () => {
    while (left-- > 0) {
      const r = await pool.request({ path: '/100b', method: 'GET', headers: peer.host ? { host: peer.host } : {} })
      await r.body.dump()
      if (r.statusCode !== 200) throw new Error(`${peer.name}: status ${r.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  await pool.close()
}

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: Node[]
}

for (const peer of peers) {
  const out = join(dir, `${peer.name.replace(/\W+/g, '_')}.heapprofile`)
  const proc = peer.launch(out)
  await waitForPort(peer.port, proc)
  await drive(peer, 5000)
  await sleep(500)
  process.kill(proc.pid, 'SIGUSR2')
  await sleep(200)
  await drive(peer, requests)
  process.kill(proc.pid, 'SIGUSR2')
  for (let i = 0; i < 100 && !existsSync(out); i++) await sleep(100)
  await sleep(300)
  await stop(proc)
  const root = JSON.parse(readFileSync(out, 'utf8')).head as Node
  const byFn = new Map<string, number>()
  let total = 0
  const walk = (n: Node) => {
    total += n.selfSize
    const f = n.callFrame
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist|bench|worker)\//, '$1/')}:${f.lineNumber + 1}`
    byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize)
    for (const c of n.children) walk(c)
  }
  walk(root)
  console.log(`\n${peer.name}: ${(total / requests / 1024).toFixed(2)} KB allocated per request (${requests} requests; profile ${out})`)
  for (const [fn, bytes] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${String(Math.round(bytes / requests)).padStart(6)} B  ${fn}`)
}
await stop(upstream)
process.exit(0)
