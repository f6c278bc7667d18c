/**
 * The config holder alone, with a controllable clock: expiry while served, idempotent
 * re-offers, ordering of concurrent offers, and the state store's ratchet.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createConfigHolder } from '../../worker/config/holder.ts'
import { createLegateMetrics } from '../../worker/observe/legate-metrics.ts'
import { createLogger } from '../../worker/observe/access-log.ts'
import type { StateStore } from '../../worker/platform.ts'
import { minimalConfig } from '../helpers/keys.ts'
import { createSigner } from './helpers.ts'

function setup(trust: Awaited<ReturnType<typeof createSigner>>['trust'], state?: StateStore) {
  let now = Date.now()
  const metrics = createLegateMetrics()
  const holder = createConfigHolder({ trust, mesh: 'demo', platform: { now: () => now, state }, metrics, logger: createLogger('silent', () => {}) })
  return { holder, metrics, advance: (ms: number) => (now += ms) }
}

const memoryState = (): StateStore & { value?: string } => {
  const s: StateStore & { value?: string } = {
    load: async () => s.value,
    save: async (jws) => {
      s.value = jws
    },
  }
  return s
}

test('a config that expires while served keeps serving and says so', async () => {
  const signer = await createSigner()
  const { holder, metrics, advance } = setup(signer.trust)
  assert.equal(await holder.offer(await signer.sign(minimalConfig(), 1, { ttlSeconds: 60 }), 'test'), 'applied')
  assert.equal(holder.readiness().expired, false)
  advance(2 * 3600_000)
  const r = holder.readiness()
  assert.equal(r.ready, true)
  assert.equal(r.expired, true)
  assert.match(r.reason ?? '', /^expired/)
  assert.equal(holder.summary().expired, true)
  assert.ok(holder.current, 'still serving')
  assert.match(metrics.registry.render(), /legate_config_expiry_timestamp_seconds \d+/)
})

test('the same config offered again is unchanged, not a rejection; a different one with the same ver is', async () => {
  const signer = await createSigner()
  const { holder, metrics } = setup(signer.trust)
  const jws = await signer.sign(minimalConfig(), 3)
  assert.equal(await holder.offer(jws, 'test'), 'applied')
  assert.equal(await holder.offer(jws, 'test'), 'unchanged')
  assert.equal(metrics.configUpdates.get(['rejected', 'version_not_newer']), 0)
  const other = await signer.sign({ ...minimalConfig(), routes: [] }, 3)
  assert.equal(await holder.offer(other, 'test'), 'rejected')
  assert.equal(holder.lastError?.code, 'version_not_newer')
})

test('concurrent offers apply in arrival order, so an older one arriving later is refused', async () => {
  const signer = await createSigner()
  const { holder } = setup(signer.trust)
  const applied: number[] = []
  holder.onApply((s) => applied.push(s.verified.ver))
  const signed = await Promise.all([5, 6, 4, 7].map((v) => signer.sign(minimalConfig(), v)))
  const results = await Promise.all(signed.map((jws) => holder.offer(jws, 'test')))
  assert.deepEqual(applied, [5, 6, 7])
  assert.deepEqual(results, ['applied', 'applied', 'rejected', 'applied'])
})

test('restore serves an expired persisted config and keeps its version as the floor', async () => {
  const signer = await createSigner()
  const state = memoryState()
  state.value = await signer.sign(minimalConfig(), 9, { now: Date.now() - 7200_000, ttlSeconds: 60 })
  const { holder } = setup(signer.trust, state)
  assert.equal(await holder.restore(), true)
  assert.equal(holder.current?.verified.ver, 9)
  assert.equal(holder.readiness().expired, true)
  assert.equal(await holder.offer(await signer.sign(minimalConfig(), 8), 'control'), 'rejected')
  assert.equal(await holder.offer(await signer.sign(minimalConfig(), 10), 'control'), 'applied')
  const persisted = JSON.parse(Buffer.from((await state.load())!.split('.')[1]!, 'base64url').toString())
  assert.equal(persisted.ver, 10)
})

test('a persisted config signed by a key no longer trusted is refused at restore: not ready, with the reason', async () => {
  const old = await createSigner('old')
  const current = await createSigner('new')
  const state = memoryState()
  state.value = await old.sign(minimalConfig(), 2)
  const { holder } = setup(current.trust, state)
  assert.equal(await holder.restore(), false)
  const r = holder.readiness()
  assert.equal(r.ready, false)
  assert.match(r.reason ?? '', /untrusted_key/)
})
