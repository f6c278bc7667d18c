/** waitForNewer on its own: stale reads after a wake-up, abort, timeout, and no leaks. */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { waitForNewer } from '../../control/long-poll.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import type { ConfigStore, CurrentConfig } from '../../control/store.ts'
import { fakeJws, metaFor } from '../stores/suite.ts'

const put = (store: ConfigStore, v: number) => store.putIfNewer('demo', v, fakeJws(v), metaFor(v, fakeJws(v)))

/** A memory store that counts live subscriptions and can answer `current` stale for the next n reads. */
function instrumented() {
  const inner = memoryStore()
  let stale = 0
  let live = 0
  const store: ConfigStore = {
    ...inner,
    async current(mesh) {
      const current = await inner.current(mesh)
      if (stale > 0 && current) {
        stale--
        // One version behind, as a lagging replica would answer.
        return { version: current.version - 1, digest: '', jws: fakeJws(current.version - 1) } satisfies CurrentConfig
      }
      return current
    },
    async subscribe(mesh, listener) {
      const u = await inner.subscribe(mesh, listener)
      live++
      return () => {
        live--
        u()
      }
    },
  }
  return { store, live: () => live, staleNext: (n: number) => (stale = n) }
}

it('a stale read after the wake-up is retried, not waited on until the timeout', async () => {
  const { store, live, staleNext } = instrumented()
  await put(store, 1)
  const waiting = waitForNewer({ store, mesh: 'demo', known: 1, waitMs: 5000, signal: new AbortController().signal })
  await new Promise((r) => setTimeout(r, 20))
  staleNext(3)
  const t0 = performance.now()
  await put(store, 2)
  const got = await waiting
  assert.equal(got?.version, 2)
  assert.ok(performance.now() - t0 < 500, `took ${performance.now() - t0} ms`)
  assert.equal(live(), 0)
})

it('abort and timeout end the wait and release the subscription', async () => {
  const { store, live } = instrumented()
  await put(store, 1)
  const controller = new AbortController()
  const aborted = waitForNewer({ store, mesh: 'demo', known: 1, waitMs: 60_000, signal: controller.signal })
  await new Promise((r) => setTimeout(r, 10))
  assert.equal(live(), 1)
  controller.abort()
  assert.equal(await aborted, undefined)
  assert.equal(live(), 0)
  const t0 = performance.now()
  assert.equal(await waitForNewer({ store, mesh: 'demo', known: 1, waitMs: 100, signal: new AbortController().signal }), undefined)
  assert.ok(performance.now() - t0 >= 95)
  assert.equal(live(), 0)
})
