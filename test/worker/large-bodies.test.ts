/**
 * 100 MB up and 100 MB down through an ambassador run by the CLI in its own process, so its
 * RSS is measured alone: bodies stream, they are never buffered (growth < 50 MB).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { createSigner, startUpstream, tempDir, until, type Upstream } from './helpers.ts'

const SIZE = 100 * 1024 * 1024
const CHUNK = Buffer.alloc(64 * 1024, 'x')
let up: Upstream, child: ChildProcess
const ports = { admin: 0, outbound: 0 }

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? 0) / 1024
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

before(async () => {
  up = await startUpstream('big', (req, res) => {
    if (req.method === 'POST') {
      let n = 0
      req.on('data', (c: Buffer) => (n += c.length))
      req.on('end', () => res.end(JSON.stringify({ received: n })))
      return
    }
    // Chunked (no content-length): the ambassador must count what it streams.
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size') ?? SIZE)
    let sent = 0
    const pump = () => {
      while (sent < size) {
        sent += CHUNK.length
        if (!res.write(CHUNK)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  const signer = await createSigner()
  const dir = tempDir()
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  writeFileSync(join(dir, 'c.jws'), await signer.sign({ mesh: 'demo', services: [{ name: 'big', endpoints: [up.url] }], routes: [] }, 1))
  ports.admin = await freePort()
  ports.outbound = await freePort()
  const bin = new URL('../../bin/legate.js', import.meta.url).pathname
  child = spawn(process.execPath, [bin, 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'demo', '--trust', join(dir, 'trust.json'), '--admin', String(ports.admin), '--outbound', String(ports.outbound), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] })
  await until(async () => (await fetch(`http://127.0.0.1:${ports.admin}/readyz`).catch(() => undefined))?.status === 200, 15_000, 100)
})

after(async () => {
  child?.kill('SIGTERM')
  await up?.close()
})

function upload(size = SIZE): Promise<number> {
  return new Promise((resolve, reject) => {
    let left = size
    const body = new Readable({
      read() {
        if (left <= 0) return void this.push(null)
        left -= CHUNK.length
        this.push(CHUNK)
      },
    })
    const req = request({ host: '127.0.0.1', port: ports.outbound, method: 'POST', path: '/upload', headers: { host: 'big', 'content-length': String(size) } }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve(JSON.parse(text).received))
    })
    req.on('error', reject)
    body.pipe(req)
  })
}

function download(size = SIZE): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ports.outbound, path: `/download?size=${size}`, headers: { host: 'big' } }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => (n += c.length))
      res.on('end', () => resolve(n))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

test('100 MB upload and 100 MB download stream through with RSS growth under 50 MB', { timeout: 120_000 }, async () => {
  // Warm up both paths with 16 MB each, so the baseline holds compiled code, pools and the
  // allocator's steady state; what must not happen is growth with the body size.
  const WARM = 16 * 1024 * 1024
  assert.equal(await upload(WARM), WARM)
  assert.equal(await download(WARM), WARM)
  await fetch(`http://127.0.0.1:${ports.admin}/metrics`)
  const baseline = rssMb(child.pid!)
  let peak = baseline
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child.pid!))), 20)
  try {
    assert.equal(await upload(), SIZE)
    assert.equal(await download(), SIZE)
  } finally {
    clearInterval(sampler)
  }
  const growth = peak - baseline
  console.log(`# ambassador RSS baseline ${baseline.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, growth ${growth.toFixed(1)} MB`)
  assert.ok(growth < 50, `RSS grew by ${growth.toFixed(1)} MB`)
})
