/**
 * Deno KV store: compare-and-set with `atomic().check()`, and `kv.watch()` to wake
 * long-polls (on Deno Deploy, across every instance). A KV value holds at most 64 KiB and an
 * atomic commit at most 800 KiB, so the JWS is written first as chunks under a fresh blob id,
 * outside the commit; the commit then checks that current is unchanged and the version is
 * new, and sets the version's entry and current, both naming the blob. A writer that loses
 * the race deletes its chunks and looks again.
 *
 *     ['legate', mesh, 'current']            {version, digest, blob, chunks}
 *     ['legate', mesh, 'versions', ver]      listing entry + {blob, chunks}
 *     ['legate', mesh, 'blobs', blob, i]     60,000-byte chunks of the JWS
 *
 * Typed structurally (no Deno globals), so it type-checks with the rest under tsc.
 * @module
 */
import type { ConfigStore, CurrentConfig, PutResult, VersionMeta } from '../store.ts'
import { storeError } from './errors.ts'

export const STORE_NAME = 'deno-kv'

type Key = readonly (string | number)[]
interface Entry<T> {
  key: Key
  value: T | null
  versionstamp: string | null
}
interface AtomicLike {
  check(...checks: { key: Key; versionstamp: string | null }[]): AtomicLike
  set(key: Key, value: unknown): AtomicLike
  delete(key: Key): AtomicLike
  commit(): Promise<{ ok: boolean }>
}
/** The parts of `Deno.Kv` used here. */
export interface DenoKvLike {
  get<T>(key: Key): Promise<Entry<T>>
  set(key: Key, value: unknown): Promise<unknown>
  delete(key: Key): Promise<void>
  list<T>(selector: { prefix: Key }, options?: { reverse?: boolean }): AsyncIterable<Entry<T>>
  atomic(): AtomicLike
  watch(keys: Key[]): ReadableStream<Entry<unknown>[]>
}

export interface DenoKvStoreOptions {
  kv: DenoKvLike
  /** First key part (default `legate`). */
  prefix?: string
}

const CHUNK_BYTES = 60_000
/** Chunks per atomic write of a blob: well under the 800 KiB commit limit. */
const CHUNKS_PER_COMMIT = 10
const MAX_ATTEMPTS = 50
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Local Deno KV is a sqlite file: another process writing to it makes an operation fail with
 * "database is locked" instead of waiting. Such failures are retried with backoff.
 */
async function retryBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (attempt >= 100 || !/database is locked|SQLITE_BUSY/i.test(String((err as Error)?.message ?? err))) throw err
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt * 2, 50) * (0.5 + Math.random())))
    }
  }
}

interface Pointer {
  version: number
  digest: string
  blob: string
  chunks: number
}

export function denoKvStore(options: DenoKvStoreOptions): ConfigStore {
  const { kv } = options
  const p = options.prefix ?? 'legate'
  const currentKey = (mesh: string) => [p, mesh, 'current'] as const
  const versionKey = (mesh: string, ver: number) => [p, mesh, 'versions', ver] as const
  const blobKey = (mesh: string, blob: string) => [p, mesh, 'blobs', blob] as const
  const watchers = new Set<() => void>()

  async function writeBlob(mesh: string, blob: string, jws: string): Promise<number> {
    const bytes = encoder.encode(jws)
    const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_BYTES))
    for (let first = 0; first < chunks; first += CHUNKS_PER_COMMIT) {
      const commit = () => {
        let op = kv.atomic()
        for (let i = first; i < Math.min(chunks, first + CHUNKS_PER_COMMIT); i++) op = op.set([...blobKey(mesh, blob), i], bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
        return op.commit()
      }
      if (!(await retryBusy(commit)).ok) throw storeError(STORE_NAME, `could not write chunks of mesh "${mesh}"`)
    }
    return chunks
  }

  async function readBlob(mesh: string, blob: string, chunks: number): Promise<string> {
    const parts: Uint8Array[] = []
    for await (const entry of kv.list<Uint8Array>({ prefix: blobKey(mesh, blob) })) parts.push(entry.value!)
    if (parts.length !== chunks) throw storeError(STORE_NAME, `mesh "${mesh}": blob ${blob} has ${parts.length} of ${chunks} chunks`)
    const bytes = new Uint8Array(parts.reduce((n, c) => n + c.length, 0))
    let offset = 0
    for (const part of parts) {
      bytes.set(part, offset)
      offset += part.length
    }
    return decoder.decode(bytes)
  }

  async function deleteBlob(mesh: string, blob: string) {
    for await (const entry of kv.list({ prefix: blobKey(mesh, blob) })) await kv.delete(entry.key)
  }

  // Writes retry each KV operation on its own, so a busy database never orphans a blob;
  // reads are idempotent and retry whole.
  async function putIfNewer(mesh: string, ver: number, jws: string, meta: VersionMeta): Promise<PutResult> {
    const blob = crypto.randomUUID()
    const chunks = await writeBlob(mesh, blob, jws)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await retryBusy(() => kv.get<Pointer>(currentKey(mesh)))
      if (current.value && current.value.version >= ver) {
        await retryBusy(() => deleteBlob(mesh, blob))
        return { ok: false, current: current.value.version }
      }
      const pointer: Pointer = { version: ver, digest: meta.digest, blob, chunks }
      const { ok } = await retryBusy(() =>
        kv
          .atomic()
          .check({ key: currentKey(mesh), versionstamp: current.versionstamp })
          .check({ key: versionKey(mesh, ver), versionstamp: null })
          .set(versionKey(mesh, ver), { ...meta, version: ver, blob, chunks })
          .set(currentKey(mesh), pointer)
          .commit(),
      )
      if (ok) return { ok: true }
      // Someone else committed in between: look again.
    }
    await retryBusy(() => deleteBlob(mesh, blob))
    throw storeError(STORE_NAME, `mesh "${mesh}": gave up after ${MAX_ATTEMPTS} contended attempts`)
  }

  async function current(mesh: string): Promise<CurrentConfig | undefined> {
    const { value } = await kv.get<Pointer>(currentKey(mesh))
    if (!value) return undefined
    return { version: value.version, digest: value.digest, jws: await readBlob(mesh, value.blob, value.chunks) }
  }

  async function listVersions(mesh: string): Promise<VersionMeta[]> {
    const out: VersionMeta[] = []
    for await (const entry of kv.list<VersionMeta & { blob?: string; chunks?: number }>({ prefix: [p, mesh, 'versions'] }, { reverse: true })) {
      const { blob: _blob, chunks: _chunks, ...meta } = entry.value!
      out.push(meta)
    }
    return out
  }

  async function getVersion(mesh: string, ver: number): Promise<string | undefined> {
    const { value } = await kv.get<{ blob: string; chunks: number }>(versionKey(mesh, ver))
    return value ? readBlob(mesh, value.blob, value.chunks) : undefined
  }

  return {
    name: STORE_NAME,
    putIfNewer,
    current: (mesh) => retryBusy(() => current(mesh)),
    listVersions: (mesh) => retryBusy(() => listVersions(mesh)),
    getVersion: (mesh, ver) => retryBusy(() => getVersion(mesh, ver)),
    async subscribe(mesh, listener) {
      // kv.watch emits the current value at once (our "live" signal), then each change.
      const reader = kv.watch([currentKey(mesh)]).getReader()
      const first = await reader.read()
      let last = (first.value?.[0]?.value as Pointer | null)?.version
      let closed = false
      ;(async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done || closed) return
          const version = (value[0]?.value as Pointer | null)?.version
          if (version !== undefined && version !== last) {
            last = version
            listener(version)
          }
        }
      })().catch(() => {})
      const unsubscribe = () => {
        if (closed) return
        closed = true
        watchers.delete(unsubscribe)
        reader.cancel().catch(() => {})
      }
      watchers.add(unsubscribe)
      return unsubscribe
    },
    async close() {
      for (const unsubscribe of [...watchers]) unsubscribe()
    },
  }
}
