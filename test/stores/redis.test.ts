import { redisStore } from '../../control/stores/redis.ts'
import { hasRedis, startRedis, type RedisServer } from './redis-server.ts'
import { testConfigStore } from './suite.ts'

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
