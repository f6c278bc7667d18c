/**
 * Redis store: for more than one control process. Keys share one hash tag per mesh, so the
 * layout also works on Redis Cluster:
 *
 *     legate:{<mesh>}:current        the current version number
 *     legate:{<mesh>}:versions       sorted set of stored versions
 *     legate:{<mesh>}:jws:<ver>      the signed config, byte for byte (never overwritten)
 *     legate:{<mesh>}:meta:<ver>     its listing entry (JSON)
 *
 * A Lua script does the compare-and-set, the writes and the PUBLISH in one atomic step, so
 * concurrent publishes from any number of controls serialize in Redis itself, and every
 * control's long-polls wake from the pub/sub message. One subscriber connection per store;
 * one channel per mesh while anyone waits on it.
 * @module
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { ConfigStore, CurrentConfig } from '../store.ts'
import { createListeners } from './listeners.ts'
import { storeError } from './errors.ts'
import { sharedReads } from './shared-reads.ts'

export const STORE_NAME = 'redis'

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port/db`. */
  url: string
  /** Key prefix (default `legate`). */
  prefix?: string
  redis?: RedisOptions
}

// KEYS: current, versions, jws, meta. ARGV: ver, jws, meta, channel.
// Returns "ok", or the current version (a string) when it is not older.
const PUT_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= tonumber(ARGV[1]) then return current end
if redis.call('EXISTS', KEYS[3]) == 1 then return current or '0' end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('SET', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 'ok'
`

// KEYS: current. ARGV: key prefixes of jws and meta. Returns {ver, jws, meta} in one round trip.
const READ_CURRENT = `
local ver = redis.call('GET', KEYS[1])
if not ver then return false end
return {ver, redis.call('GET', ARGV[1] .. ver), redis.call('GET', ARGV[2] .. ver)}
`

type Commands = Redis & {
  legatePut(current: string, versions: string, jws: string, meta: string, ver: string, body: string, metaJson: string, channel: string): Promise<string>
  legateCurrent(current: string, jwsPrefix: string, metaPrefix: string): Promise<[string, string | false | null, string | false | null] | null>
}

export function redisStore(options: RedisStoreOptions): ConfigStore {
  const prefix = options.prefix ?? 'legate'
  const base = (mesh: string) => `${prefix}:{${mesh}}`
  const channelOf = (mesh: string) => `${base(mesh)}:changes`
  const channelPrefix = `${prefix}:{`
  const client = new Redis(options.url, { lazyConnect: false, maxRetriesPerRequest: 2, ...options.redis }) as Commands
  client.on('error', () => {}) // reported through the failing command instead
  client.defineCommand('legatePut', { numberOfKeys: 4, lua: PUT_IF_NEWER })
  client.defineCommand('legateCurrent', { numberOfKeys: 1, lua: READ_CURRENT })
  let subscriber: Redis | undefined
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn()
    } catch (err) {
      throw storeError(STORE_NAME, `${what}: ${(err as Error).message}`, err)
    }
  }

  const listeners = createListeners({
    async onFirst(mesh) {
      if (!subscriber) {
        subscriber = client.duplicate()
        subscriber.on('error', () => {})
        // Pub/sub is fire-and-forget: publishes made while the subscriber was reconnecting
        // are lost. After a reconnect, read every watched mesh's current version and
        // announce it; waiters that are already up to date just keep waiting.
        let connectedBefore = false
        subscriber.on('ready', () => {
          if (!connectedBefore) {
            connectedBefore = true
            return
          }
          for (const mesh of listeners.meshes()) {
            reads.forget(mesh)
            readCurrent(mesh)
              .then((current) => current && listeners.emit(mesh, current.version))
              .catch(() => {})
          }
        })
        subscriber.on('message', (channel: string, message: string) => {
          // `legate:{<mesh>}:changes` → mesh
          if (!channel.startsWith(channelPrefix)) return
          const mesh = channel.slice(channelPrefix.length, channel.indexOf('}', channelPrefix.length))
          const version = Number(message)
          if (!Number.isSafeInteger(version)) return
          // A read in flight may predate this publish: woken waiters must start a fresh one.
          reads.forget(mesh)
          listeners.emit(mesh, version)
        })
      }
      await wrap('subscribe', () => subscriber!.subscribe(channelOf(mesh)))
    },
    onLast(mesh) {
      subscriber?.unsubscribe(channelOf(mesh)).catch(() => {})
    },
  })

  const reads = sharedReads(readCurrent)

  async function readCurrent(mesh: string): Promise<CurrentConfig | undefined> {
    const found = await wrap('read current', () => client.legateCurrent(`${base(mesh)}:current`, `${base(mesh)}:jws:`, `${base(mesh)}:meta:`))
    if (!found) return undefined
    const [ver, jws, meta] = found
    if (typeof jws !== 'string' || typeof meta !== 'string') throw storeError(STORE_NAME, `mesh "${mesh}": current names version ${ver}, which is missing`)
    return { version: Number(ver), digest: JSON.parse(meta).digest, jws }
  }

  return {
    name: STORE_NAME,
    async putIfNewer(mesh, ver, jws, meta) {
      const b = base(mesh)
      const answer = await wrap('publish', () =>
        client.legatePut(`${b}:current`, `${b}:versions`, `${b}:jws:${ver}`, `${b}:meta:${ver}`, String(ver), jws, JSON.stringify({ ...meta, version: ver }), channelOf(mesh)),
      )
      return answer === 'ok' ? { ok: true } : { ok: false, current: Number(answer) }
    },
    current: (mesh) => reads.read(mesh),
    async listVersions(mesh) {
      const b = base(mesh)
      const versions = await wrap('list', () => client.zrevrange(`${b}:versions`, 0, -1))
      if (versions.length === 0) return []
      const metas = await wrap('list', () => client.mget(versions.map((v) => `${b}:meta:${v}`)))
      return metas.filter((m): m is string => m !== null).map((m) => JSON.parse(m))
    },
    async getVersion(mesh, ver) {
      return (await wrap('read version', () => client.get(`${base(mesh)}:jws:${ver}`))) ?? undefined
    },
    subscribe: (mesh, listener) => listeners.add(mesh, listener),
    async close() {
      listeners.clear()
      subscriber?.disconnect()
      await client.quit().catch(() => client.disconnect())
    },
  }
}
