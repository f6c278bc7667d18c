/**
 * The one test suite every `ConfigStore` adapter passes (unstorage's `testDriver`):
 * `testConfigStore({ name, open })` in each `test/stores/<name>.test.ts`. Meshes are fresh
 * per test, so adapters need no cleanup between tests.
 * @module
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { ConfigStore, VersionMeta } from '../../control/store.ts'

export interface StoreSuiteOptions {
  name: string
  /** Opens the store under test (called once for the suite). */
  open(): Promise<ConfigStore>
  /** Opens a second handle on the same backend (another process's view), if there can be one. */
  openPeer?(): Promise<ConfigStore>
  /** False when the peer sees writes but not notifications (Deno KV's local sqlite watch is per process). */
  peerNotifies?: boolean
  /** Tears down what `open` started (servers, temp dirs), after the stores are closed. */
  teardown?(): Promise<void>
  /** Skip the whole suite with this reason (e.g. a runtime is missing). */
  skip?: string
}

let counter = 0
export const freshMesh = () => `m${Date.now().toString(36)}-${(++counter).toString(36)}-${Math.random().toString(36).slice(2, 6)}`

/** A JWS-shaped string of about `size` bytes, distinct per version. */
export function fakeJws(ver: number, size = 200): string {
  const filler = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'
  let body = ''
  for (let i = 0; body.length < size; i++) body += filler[(i * 7 + ver) % filler.length]
  return `eyJhbGciOiJFZERTQSJ9.${body}.${ver.toString(36)}`
}

export const metaFor = (ver: number, jws: string): VersionMeta => ({
  version: ver,
  digest: `sha256:${ver.toString(16).padStart(64, '0')}`,
  iss: 'ops',
  iat: 1_700_000_000 + ver,
  exp: 1_800_000_000,
  publishedAt: new Date(1_700_000_000_000 + ver).toISOString(),
})

const put = (store: ConfigStore, mesh: string, ver: number, jws = fakeJws(ver)) => store.putIfNewer(mesh, ver, jws, metaFor(ver, jws))

/** Subscribes (resolving once live) and gives a promise of the next notified version. */
async function nextVersion(store: ConfigStore, mesh: string, timeoutMs = 2000): Promise<{ next: Promise<number> }> {
  let resolve!: (v: number) => void
  const next = new Promise<number>((r) => (resolve = r))
  const unsubscribe = await store.subscribe(mesh, (v) => resolve(v))
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no change notification within ${timeoutMs} ms`)), timeoutMs)
  })
  // Wrapped: an async function returning a bare promise would wait for it.
  return {
    next: Promise.race([next, timeout]).finally(() => {
      clearTimeout(timer)
      unsubscribe()
    }),
  }
}

export function testConfigStore(options: StoreSuiteOptions) {
  describe(`store: ${options.name}`, { skip: options.skip }, () => {
    let store: ConfigStore
    let peer: ConfigStore | undefined
    before(async () => {
      store = await options.open()
      peer = await options.openPeer?.()
    })
    after(async () => {
      await peer?.close()
      await store?.close()
      await options.teardown?.()
    })

    it('starts empty', async () => {
      const mesh = freshMesh()
      assert.equal(await store.current(mesh), undefined)
      assert.deepEqual(await store.listVersions(mesh), [])
      assert.equal(await store.getVersion(mesh, 1), undefined)
    })

    it('stores a version and makes it current', async () => {
      const mesh = freshMesh()
      const jws = fakeJws(5)
      assert.deepEqual(await store.putIfNewer(mesh, 5, jws, metaFor(5, jws)), { ok: true })
      assert.deepEqual(await store.current(mesh), { version: 5, digest: metaFor(5, jws).digest, jws })
      assert.equal(await store.getVersion(mesh, 5), jws)
      assert.deepEqual(await store.listVersions(mesh), [metaFor(5, jws)])
    })

    it('refuses a version that is not newer, naming the current one', async () => {
      const mesh = freshMesh()
      await put(store, mesh, 10)
      assert.deepEqual(await put(store, mesh, 10, fakeJws(10, 300)), { ok: false, current: 10 })
      assert.deepEqual(await put(store, mesh, 3), { ok: false, current: 10 })
      // Versions are immutable: the refused re-publish of 10 did not replace its bytes.
      assert.equal(await store.getVersion(mesh, 10), fakeJws(10))
      assert.equal(await store.getVersion(mesh, 3), undefined)
      assert.equal((await store.current(mesh))?.version, 10)
    })

    it('lists versions newest first and keeps every one', async () => {
      const mesh = freshMesh()
      for (const v of [1, 2, 7, 40]) await put(store, mesh, v)
      assert.deepEqual((await store.listVersions(mesh)).map((m) => m.version), [40, 7, 2, 1])
      for (const v of [1, 2, 7, 40]) assert.equal(await store.getVersion(mesh, v), fakeJws(v))
    })

    it('keeps meshes apart', async () => {
      const a = freshMesh()
      const b = freshMesh()
      await put(store, a, 9)
      assert.deepEqual(await put(store, b, 2), { ok: true })
      assert.equal((await store.current(a))?.version, 9)
      assert.equal((await store.current(b))?.version, 2)
    })

    it('reads back large values byte for byte (over 64 KiB, under the 1 MiB cap)', async () => {
      const mesh = freshMesh()
      const big = fakeJws(3, 700 * 1024)
      await put(store, mesh, 3, big)
      assert.equal((await store.current(mesh))?.jws, big)
      assert.equal(await store.getVersion(mesh, 3), big)
    })

    it('handles millisecond versions (the default of legate sign)', async () => {
      const mesh = freshMesh()
      const ver = 1_764_000_000_123
      await put(store, mesh, ver)
      assert.equal((await store.current(mesh))?.version, ver)
      assert.deepEqual(await put(store, mesh, ver - 1), { ok: false, current: ver })
    })

    it('of 50 concurrent puts, exactly the highest ends current and each stored one reads back', async () => {
      const mesh = freshMesh()
      const versions = Array.from({ length: 50 }, (_, i) => 100 + i * 3)
      const order = [...versions].sort(() => Math.random() - 0.5)
      const results = await Promise.all(order.map((v) => put(store, mesh, v)))
      assert.equal((await store.current(mesh))?.version, Math.max(...versions))
      const stored = new Set((await store.listVersions(mesh)).map((m) => m.version))
      order.forEach((v, i) => {
        const r = results[i]!
        assert.equal(stored.has(v), r.ok, `version ${v}: stored=${stored.has(v)} but result ${JSON.stringify(r)}`)
        if (!r.ok) assert.ok(r.current >= v)
      })
      for (const v of stored) assert.equal(await store.getVersion(mesh, v), fakeJws(v))
    })

    it('notifies subscribers of each publish, and stops after unsubscribe', async () => {
      const mesh = freshMesh()
      const seen: number[] = []
      const unsubscribe = await store.subscribe(mesh, (v) => seen.push(v))
      const { next } = await nextVersion(store, mesh)
      await put(store, mesh, 4)
      assert.equal(await next, 4)
      // Each subscription has its own transport (a stream, a channel): wait for this one too.
      for (let i = 0; i < 200 && !seen.includes(4); i++) await new Promise((r) => setTimeout(r, 10))
      assert.ok(seen.includes(4), `the first subscriber saw ${JSON.stringify(seen)}`)
      unsubscribe()
      unsubscribe()
      await put(store, mesh, 5)
      const { next: last } = await nextVersion(store, mesh)
      await put(store, mesh, 6)
      assert.equal(await last, 6)
      assert.deepEqual(seen.filter((v) => v >= 5), [])
    })

    it('a second handle on the same backend sees publishes and their notifications', { skip: options.openPeer ? false : 'no second handle for this store' }, async () => {
      const mesh = freshMesh()
      const notifies = options.peerNotifies !== false
      const { next } = notifies ? await nextVersion(peer!, mesh) : { next: Promise.resolve(8) }
      await put(store, mesh, 8)
      assert.equal(await next, 8)
      assert.equal((await peer!.current(mesh))?.jws, fakeJws(8))
      assert.deepEqual(await put(peer!, mesh, 8), { ok: false, current: 8 })
      const results = await Promise.all([12, 11, 14, 13].map((v, i) => put(i % 2 ? peer! : store, mesh, v)))
      assert.equal((await store.current(mesh))?.version, 14)
      assert.ok(results.some((r) => r.ok))
    })
  })
}
