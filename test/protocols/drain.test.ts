/**
 * Graceful drain (issue 10, acceptance 4), through the real `legate ambassador` in a child
 * process: SIGTERM with 100 requests in flight and a WebSocket open. /readyz turns 503 at
 * once, new requests are still served during --drain-delay and refused after it, every
 * in-flight request completes, the WebSocket keeps working until its client closes it, and
 * the process exits 0 within --drain-timeout. A second signal exits at once.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Agent } from 'node:http'
import { WebSocket, WebSocketServer } from 'ws'
import { BIN } from '../cli/legate.ts'
import { createSigner, rawRequest, startUpstream, tempDir, until, type Upstream } from '../worker/helpers.ts'
import { freePort, within } from './helpers.ts'

let slow: Upstream
let wss: WebSocketServer
let dir: string
const children: ChildProcess[] = []

before(async () => {
  slow = await startUpstream('slow', (req, res) => {
    const t = setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`done ${req.url}`), Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 2000))
    res.on('close', () => clearTimeout(t))
  })
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)))
  const signer = await createSigner()
  dir = tempDir('legate-drain-')
  const config = {
    mesh: 'demo',
    services: [
      { name: 'slow', endpoints: [slow.url] },
      { name: 'chat', endpoints: [`http://127.0.0.1:${(wss.address() as AddressInfo).port}`] },
    ],
  }
  writeFileSync(join(dir, 'c.jws'), await signer.sign(config, 1))
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
})

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await slow?.close()
  await new Promise((r) => wss.close(r))
})

async function startCli(drain: { delay: string; timeout: string }) {
  const admin = await freePort()
  const outbound = await freePort()
  const child = spawn(
    process.execPath,
    [BIN, 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'demo', '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'warn', '--drain-delay', drain.delay, '--drain-timeout', drain.timeout],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  )
  children.push(child)
  const exited = new Promise<{ code: number | null; at: number }>((r) => child.once('exit', (code) => r({ code, at: Date.now() })))
  await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 15_000, 100)
  return { child, admin, outbound, exited }
}

test('SIGTERM with 100 requests in flight and a WebSocket open: readyz 503 first, nothing fails, exit 0 within the drain timeout', async () => {
  const { child, admin, outbound, exited } = await startCli({ delay: '1s', timeout: '10s' })
  const agent = new Agent({ keepAlive: true, maxSockets: 200 })
  const ws = new WebSocket(`ws://127.0.0.1:${outbound}/`, { headers: { host: 'chat' } })
  await within(new Promise((r) => ws.once('open', r)), 10_000, 'websocket open')
  const echo = (text: string) => within(new Promise<string>((r) => (ws.once('message', (d) => r(String(d))), ws.send(text))), 5_000, 'echo')

  const seenBefore = slow.seen.length
  const inFlight = Array.from({ length: 100 }, (_, i) => rawRequestWith(agent, outbound, `/r${i}?ms=2500`))
  await until(() => slow.seen.length - seenBefore >= 100, 15_000)

  const signalled = Date.now()
  child.kill('SIGTERM')
  // /readyz fails at once, before the listeners stop accepting.
  await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`)).status === 503, 800, 20)
  const readyz = await (await fetch(`http://127.0.0.1:${admin}/readyz`)).json()
  assert.deepEqual(readyz, { ready: false, reason: 'draining' })
  // Still served during the delay (endpoints take a moment to leave load balancers).
  const during = await rawRequest(outbound, { path: '/late?ms=10', headers: { host: 'slow', connection: 'close' } })
  assert.equal(during.status, 200)
  assert.equal(await echo('still there'), 'still there')

  // After the delay: no new connection is accepted.
  await new Promise((r) => setTimeout(r, Math.max(0, signalled + 1_400 - Date.now())))
  await assert.rejects(rawRequest(outbound, { path: '/refused', headers: { host: 'slow', connection: 'close' } }), /ECONNREFUSED|ECONNRESET|socket hang up/)

  const results = await within(Promise.all(inFlight), 15_000, 'in-flight requests')
  assert.equal(results.filter((r) => r.status === 200).length, 100, `statuses: ${results.map((r) => r.status).join(',')}`)
  // The tunnel still works while the process drains; the process waits for it.
  assert.equal(await echo('after the requests'), 'after the requests')
  assert.equal(child.exitCode, null)
  ws.close(1000)
  const { code, at } = await within(exited, 12_000, 'exit')
  agent.destroy()
  assert.equal(code, 0)
  assert.ok(at - signalled < 10_000, `exited ${at - signalled} ms after SIGTERM`)
})

test('a second signal exits at once', async () => {
  const { child, outbound, exited } = await startCli({ delay: '5s', timeout: '30s' })
  const hanging = rawRequest(outbound, { path: '/hang?ms=60000', headers: { host: 'slow' } }).catch(() => undefined)
  await until(() => slow.seen.some((s) => s.url.startsWith('/hang')), 10_000)
  child.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 200))
  assert.equal(child.exitCode, null, 'still draining after the first signal')
  const second = Date.now()
  child.kill('SIGTERM')
  const { code, at } = await within(exited, 5_000, 'exit')
  assert.equal(code, 1)
  assert.ok(at - second < 2_000, `exited ${at - second} ms after the second signal`)
  await hanging
})

function rawRequestWith(agent: Agent, port: number, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'slow' } }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    }, reject)
  })
}
