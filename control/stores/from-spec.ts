/**
 * Opens a store from the `--store` flag of `legate control` (Node): `file:DIR`, `memory:`,
 * `redis://…` / `rediss://…`. Adapters load on demand, so a file-store control never loads
 * the Redis client.
 * @module
 */
import type { ConfigStore } from '../store.ts'

export const DEFAULT_STORE_SPEC = 'file:./.legate/control'

/** Throws a TypeError for a spec that names no known store (the CLI turns it into a usage error). */
export async function openStore(spec: string): Promise<ConfigStore> {
  if (spec === 'memory:' || spec === 'memory') return (await import('./memory.ts')).memoryStore()
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length)
    if (dir === '') throw new TypeError('file: store needs a directory, e.g. file:./.legate/control')
    return (await import('./file.ts')).fileStore({ dir })
  }
  if (/^rediss?:\/\//.test(spec)) return (await import('./redis.ts')).redisStore({ url: spec })
  throw new TypeError(`unknown store "${spec}" (use file:DIR, memory: or redis://host:port)`)
}

/** The spec with any password replaced, for logs. */
export const describeStore = (spec: string) => spec.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@')
