/**
 * Issue 4, acceptance 5: a held `GET …/config?wait=N` answers within 100 ms of a publish, on
 * the same control and on a second control over the same Redis; it ends with 304 when the
 * wait runs out; a client that goes away releases its subscription; one control holds
 * 1,000 long-polls at once.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import type { ConfigStore } from '../../control/store.ts'
import { hasRedis, startRedis, type RedisServer } from '../stores/redis-server.ts'
import { createPublisher, type Publisher } from './fixtures.ts'
import { rssMiB, spawnControl, writeTrust, type ControlProcess } from './spawn-control.ts'

let pub: Publisher
let dir: string
let trustPath: string

before(async () => {
  pub = await createPublisher('ops')
  dir = await mkdtemp(join(tmpdir(), 'legate-long-poll-'))
  trustPath = await writeTrust(dir, pub.jwks)
})
after(() => rm(dir, { recursive: true, force: true }))

const put = async (url: string, jws: string) => {
  const res = await fetch(`${url}/v1/meshes/demo/config`, { method: 'PUT', body: jws })
  assert.equal(res.status, 201, await res.clone().text())
  return res
}

/** A held GET on its own connection; resolves with status, body and when it arrived. */
export function longPoll(url: string, etag: string | undefined, wait: number, signal?: AbortSignal) {
  return new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
    const req = request(`${url}/v1/meshes/demo/config?wait=${wait}`, { agent: false, headers: etag ? { 'if-none-match': etag } : {}, signal }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, body, at: performance.now() }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Counts live subscriptions, to see waiters go away. */
function counting(store: ConfigStore) {
  let live = 0
  const wrapped: ConfigStore = {
    ...store,
    async subscribe(mesh, listener) {
      const unsubscribe = await store.subscribe(mesh, listener)
      live++
      let done = false
      return () => {
        if (done) return
        done = true
        live--
        unsubscribe()
      }
    },
  }
  return { store: wrapped, live: () => live }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(check: () => boolean, ms: number) {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await sleep(10)
  return check()
}

describe('long-poll on one control', () => {
  it('wakes within 100 ms of a publish; 304 when the wait runs out; waits for a first config', async () => {
    const { store, live } = counting(memoryStore())
    const control = await startControl({ store, trust: pub.trust, port: 0, hostname: '127.0.0.1' })
    try {
      // No config yet: the wait is held until the first publish.
      const first = longPoll(control.url, undefined, 10)
      assert.ok(await until(() => live() === 1, 2000))
      const v1 = await pub.sign(1)
      await put(control.url, v1)
      const stored = performance.now()
      const got = await first
      assert.equal(got.status, 200)
      assert.equal(got.body, v1)
      assert.ok(got.at - stored < 100, `woke ${got.at - stored} ms after the publish was stored`)

      const latencies: number[] = []
      for (let v = 2; v <= 11; v++) {
        const held = longPoll(control.url, `"${v - 1}"`, 10)
        assert.ok(await until(() => live() === 1, 2000))
        const jws = await pub.sign(v)
        const sent = performance.now()
        await put(control.url, jws)
        const stored = performance.now()
        const res = await held
        assert.equal(res.status, 200)
        assert.equal(res.body, jws)
        latencies.push(res.at - sent)
        // "Within 100 ms of a publish": counted from the 201, so a busy CI core spent on
        // verifying the signature is not charged to the wake-up.
        assert.ok(res.at - stored < 100, `woke ${res.at - stored} ms after the publish was stored`)
      }
      latencies.sort((a, b) => a - b)
      console.log(`# long-poll wake (same process, memory store): p50 ${latencies[5]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms (from PUT sent to GET answered)`)

      const t = performance.now()
      const timedOut = await longPoll(control.url, '"11"', 1)
      assert.equal(timedOut.status, 304)
      assert.ok(timedOut.at - t >= 950, `304 after ${timedOut.at - t} ms`)
      assert.equal(live(), 0)
    } finally {
      await control.close()
    }
  })

  it('a client that goes away releases its timer and subscription', async () => {
    const { store, live } = counting(memoryStore())
    const control = await startControl({ store, trust: pub.trust, port: 0, hostname: '127.0.0.1' })
    try {
      await put(control.url, await pub.sign(1))
      const aborts = Array.from({ length: 20 }, () => new AbortController())
      const polls = aborts.map((a) => longPoll(control.url, '"1"', 60, a.signal).catch(() => 'aborted'))
      assert.ok(await until(() => live() === 20, 3000), `live ${live()}`)
      for (const a of aborts) a.abort()
      assert.deepEqual(new Set(await Promise.all(polls)), new Set(['aborted']))
      assert.ok(await until(() => live() === 0, 2000), `${live()} subscriptions left after the clients went away`)
    } finally {
      await control.close()
    }
  })

  it('1,000 concurrent long-polls held by one legate control process, all woken by one publish', async () => {
    const control = await spawnControl({ store: 'memory:', trust: trustPath })
    try {
      await put(control.url, await pub.sign(1))
      const before = await rssMiB(control.pid)
      const polls = Array.from({ length: 1000 }, () => longPoll(control.url, '"1"', 60))
      // Every request is held once the server has them all; probe with a cheap request.
      await sleep(1500)
      const held = await rssMiB(control.pid)
      const t0 = performance.now()
      await put(control.url, await pub.sign(2))
      const answers = await Promise.all(polls)
      const allIn = Math.max(...answers.map((a) => a.at)) - t0
      assert.ok(answers.every((a) => a.status === 200))
      console.log(`# 1,000 held long-polls: control RSS ${before} MiB idle → ${held} MiB holding; all 1,000 answered ${allIn.toFixed(0)} ms after the publish`)
      assert.ok(held < 400, `RSS ${held} MiB`)
    } finally {
      await control.kill()
    }
  })
})

describe('long-poll across two controls over one Redis', { skip: hasRedis() ? false : 'redis-server is not installed' }, () => {
  let redis: RedisServer
  const controls: ControlProcess[] = []
  before(async () => {
    redis = await startRedis()
    controls.push(await spawnControl({ store: redis.url, trust: trustPath }))
    controls.push(await spawnControl({ store: redis.url, trust: trustPath }))
  })
  after(async () => {
    await Promise.all(controls.map((c) => c.kill()))
    await redis?.stop()
  })

  it('a publish on one control wakes a long-poll on the other within 100 ms', async () => {
    const [a, b] = controls as [ControlProcess, ControlProcess]
    await put(a.url, await pub.sign(1))
    const latencies: number[] = []
    for (let v = 2; v <= 11; v++) {
      const held = longPoll(b.url, `"${v - 1}"`, 10)
      await sleep(150) // let b subscribe
      const jws = await pub.sign(v)
      const t0 = performance.now()
      await put(a.url, jws)
      const stored = performance.now()
      const res = await held
      assert.equal(res.status, 200)
      assert.equal(res.body, jws)
      latencies.push(res.at - t0)
      assert.ok(res.at - stored < 100, `woke ${res.at - stored} ms after the publish was stored`)
    }
    latencies.sort((x, y) => x - y)
    console.log(`# long-poll wake across controls over Redis: p50 ${latencies[5]!.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms (from PUT sent to GET answered)`)
  })
})

describe('long-poll across two controls over one file store', () => {
  it('a publish on one process wakes a long-poll on the other (fs.watch)', async () => {
    const store = `file:${join(dir, 'shared-file')}`
    const a = await spawnControl({ store, trust: trustPath })
    const b = await spawnControl({ store, trust: trustPath })
    try {
      await put(a.url, await pub.sign(1))
      const held = longPoll(b.url, '"1"', 10)
      await sleep(300) // let b subscribe
      const jws = await pub.sign(2)
      await put(a.url, jws)
      const stored = performance.now()
      const res = await held
      assert.equal(res.status, 200)
      assert.equal(res.body, jws)
      console.log(`# long-poll wake across controls over one file store: ${(res.at - stored).toFixed(1)} ms after the 201`)
      assert.ok(res.at - stored < 100, `woke ${res.at - stored} ms after the publish was stored`)
    } finally {
      await Promise.all([a.kill(), b.kill()])
    }
  })
})
