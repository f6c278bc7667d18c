import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { redisStore } from '../../control/stores/redis.ts'
import { hasRedis, startRedis, type RedisServer } from './redis-server.ts'
import { fakeJws, freshMesh, metaFor, testConfigStore } from './suite.ts'

let server: RedisServer | undefined

testConfigStore({
  name: 'redis',
  skip: hasRedis() ? undefined : 'redis-server is not installed (apt-get install -y redis-server)',
  open: async () => {
    server = await startRedis()
    return redisStore({ url: server.url })
  },
  openPeer: async () => redisStore({ url: server!.url }),
  teardown: async () => server?.stop(),
})

test('redis: a publish made while the subscriber was cut off still wakes waiters after it reconnects', { skip: hasRedis() ? false : 'redis-server is not installed' }, async () => {
  const own = await startRedis()
  const store = redisStore({ url: own.url })
  const admin = new Redis(own.url)
  try {
    const mesh = freshMesh()
    await store.putIfNewer(mesh, 1, fakeJws(1), metaFor(1, fakeJws(1)))
    const seen: number[] = []
    const unsubscribe = await store.subscribe(mesh, (v) => seen.push(v))
    // Drop the subscriber connection, then publish before it can reconnect: the message is lost.
    assert.ok(Number(await admin.client('KILL', 'TYPE', 'pubsub')) >= 1)
    await store.putIfNewer(mesh, 2, fakeJws(2), metaFor(2, fakeJws(2)))
    for (let i = 0; i < 300 && !seen.includes(2); i++) await new Promise((r) => setTimeout(r, 10))
    assert.ok(seen.includes(2), `after the reconnect the subscriber saw ${JSON.stringify(seen)}`)
    unsubscribe()
  } finally {
    admin.disconnect()
    await store.close()
    await own.stop()
  }
})
