/**
 * The size cap over a real socket: a 200 MiB chunked upload (no Content-Length) to a
 * control capped at 10 kB is answered 413 at once, without the body being buffered.
 */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { startControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { createPublisher } from './fixtures.ts'

it('a 200 MiB chunked upload gets 413 too_large quickly, and memory stays flat', async () => {
  const pub = await createPublisher()
  const control = await startControl({ store: memoryStore(), trust: pub.trust, port: 0, hostname: '127.0.0.1', maxConfigBytes: 10_000 })
  try {
    const rssBefore = process.memoryUsage().rss
    const t0 = performance.now()
    let sent = 0
    const result = await new Promise<{ status?: number; body?: string; error?: string }>((resolve) => {
      const req = request(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      })
      req.on('error', (e) => resolve({ error: e.message }))
      const chunk = Buffer.alloc(64 * 1024, 97)
      const write = () => {
        while (sent < 200 * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length
          if (!req.write(chunk)) return void req.once('drain', write)
        }
        req.end()
      }
      write()
    })
    const ms = performance.now() - t0
    assert.equal(result.status, 413, JSON.stringify(result))
    assert.deepEqual(JSON.parse(result.body!), { error: 'too_large', message: 'signed config is over the 10000-byte limit' })
    assert.ok(ms < 5000, `took ${ms} ms`)
    assert.ok(sent < 200 * 1024 * 1024, 'the whole body was sent before the answer')
    assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'memory grew with the upload')
  } finally {
    await control.close()
  }
})
