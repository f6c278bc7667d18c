/**
 * Issue 4, acceptance 2: 50 concurrent publishes of distinct versions on one control, on two
 * `legate control` processes over one Redis, and on two over one file store.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { fileStore } from '../../control/stores/file.ts'
import { hasRedis, startRedis, type RedisServer } from '../stores/redis-server.ts'
import { createPublisher, type Publisher } from './fixtures.ts'
import { publishRace } from './publish-race.ts'
import { spawnControl, writeTrust, type ControlProcess } from './spawn-control.ts'

let pub: Publisher
let dir: string
let trustPath: string

before(async () => {
  pub = await createPublisher('ops')
  dir = await mkdtemp(join(tmpdir(), 'legate-control-race-'))
  trustPath = await writeTrust(dir, pub.jwks)
})
after(() => rm(dir, { recursive: true, force: true }))

describe('50 concurrent publishes', () => {
  it('one control, memory store', async () => {
    const control = await startControl({ store: memoryStore(), trust: pub.trust, port: 0, hostname: '127.0.0.1' })
    try {
      const { accepted } = await publishRace([control.url], pub)
      assert.ok(accepted >= 1)
    } finally {
      await control.close()
    }
  })

  it('one control, file store', async () => {
    const control = await startControl({ store: fileStore({ dir: join(dir, 'one') }), trust: pub.trust, port: 0, hostname: '127.0.0.1' })
    try {
      await publishRace([control.url], pub)
    } finally {
      await control.close()
    }
  })

  it('two legate control processes over one file store', async () => {
    const store = `file:${join(dir, 'shared')}`
    const controls: ControlProcess[] = []
    try {
      controls.push(await spawnControl({ store, trust: trustPath, publishToken: 't' }))
      controls.push(await spawnControl({ store, trust: trustPath, publishToken: 't' }))
      await publishRace(controls.map((c) => c.url), pub, { token: 't' })
      // And again above the first round, so both start from a non-empty current.
      await publishRace(controls.map((c) => c.url), pub, { token: 't', base: 5000 })
    } finally {
      await Promise.all(controls.map((c) => c.kill()))
    }
  })

  describe('two legate control processes over one Redis', { skip: hasRedis() ? false : 'redis-server is not installed' }, () => {
    let redis: RedisServer
    before(async () => {
      redis = await startRedis()
    })
    after(() => redis?.stop())

    it('the highest ends current on both; others 201 or 409', async () => {
      const controls: ControlProcess[] = []
      try {
        controls.push(await spawnControl({ store: redis.url, trust: trustPath }))
        controls.push(await spawnControl({ store: redis.url, trust: trustPath }))
        await publishRace(controls.map((c) => c.url), pub)
        await publishRace(controls.map((c) => c.url), pub, { base: 5000 })
      } finally {
        await Promise.all(controls.map((c) => c.kill()))
      }
    })
  })
})
