/**
 * Workers KV + a Durable Object (workerd). KV alone has no compare-and-set and takes about
 * 60 s to propagate, so one Durable Object per mesh serializes that mesh's publishes and
 * holds its current version and version list; KV holds the bytes in the CONTRACT §4 layout,
 * so an edge ambassador reads `meshes/<mesh>/current` in one get:
 *
 *     meshes/<mesh>/versions/<ver>   the JWS (metadata: its listing entry), written first
 *     meshes/<mesh>/current          the JWS itself (metadata: {version, digest}), written last
 *
 * Order of a publish inside the object: KV version → the object's storage (the commit
 * point: from here the version is listed and current) → KV current. A crash between the
 * last two leaves KV `current` one version behind until the next publish; never ahead of
 * what the object committed. The control's own reads go through the object, so they see
 * each publish at once; long-polls subscribe with a streamed `watch` request the object
 * writes a line to on every publish.
 *
 * Bindings (see wrangler.toml `[env.control]`): a KV namespace and a Durable Object
 * namespace whose class is `ControlMesh` (exported by control/entry.workers.ts).
 * @module
 */
import type { ConfigStore, CurrentConfig, PutResult, VersionMeta } from '../store.ts'
import { storeError } from './errors.ts'

export const STORE_NAME = 'kv-durable-object'

/** The parts of the Workers KV binding used here. */
export interface KVNamespaceLike {
  get(key: string, type: 'text'): Promise<string | null>
  put(key: string, value: string, options?: { metadata?: unknown }): Promise<void>
}

export interface DurableObjectStubLike {
  fetch(input: string, init?: RequestInit): Promise<Response>
}

export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): DurableObjectStubLike
}

export interface DurableObjectStateLike {
  storage: {
    get<T>(key: string): Promise<T | undefined>
    put(entries: Record<string, unknown>): Promise<void>
    list<T>(options: { prefix: string; reverse?: boolean }): Promise<Map<string, T>>
  }
}

export interface ControlMeshEnv {
  /** The KV namespace holding `meshes/<mesh>/…` (binding name fixed: LEGATE_KV). */
  LEGATE_KV: KVNamespaceLike
}

export const versionKey = (mesh: string, ver: number) => `meshes/${mesh}/versions/${ver}`
export const currentKey = (mesh: string) => `meshes/${mesh}/current`
const ORIGIN = 'https://control-mesh.internal'
const MESH_HEADER = 'x-legate-mesh'
/** Sorts numerically in the object's key order. */
const metaKey = (ver: number) => `v:${String(ver).padStart(16, '0')}`
const encoder = new TextEncoder()

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } })

/**
 * One per mesh (`idFromName(mesh)`). Requests are internal: only the control's store calls it.
 */
export class ControlMesh {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly watchers = new Set<ReadableStreamDefaultController<Uint8Array>>()

  constructor(
    private readonly state: DurableObjectStateLike,
    private readonly env: ControlMeshEnv,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const mesh = request.headers.get(MESH_HEADER) ?? ''
    switch (url.pathname) {
      case '/put': {
        const { ver, jws, meta } = (await request.json()) as { ver: number; jws: string; meta: VersionMeta }
        // KV writes let other requests in (the input gate opens on I/O): chain publishes explicitly.
        const run = this.queue.then(() => this.put(mesh, ver, jws, meta))
        this.queue = run.catch(() => {})
        return json(await run)
      }
      case '/current': {
        const current = await this.state.storage.get<{ version: number; digest: string }>('current')
        if (!current) return json(null)
        const jws = await this.env.LEGATE_KV.get(versionKey(mesh, current.version), 'text')
        if (jws === null) return json({ error: `current names version ${current.version}, which is missing from KV` }, 500)
        return json({ ...current, jws })
      }
      case '/versions': {
        const metas = await this.state.storage.list<VersionMeta>({ prefix: 'v:', reverse: true })
        return json([...metas.values()])
      }
      case '/version': {
        const ver = Number(url.searchParams.get('ver'))
        // Listed here means committed; a KV value without it is a publish cut short.
        if (!(await this.state.storage.get(metaKey(ver)))) return new Response(null, { status: 404 })
        const jws = await this.env.LEGATE_KV.get(versionKey(mesh, ver), 'text')
        return jws === null ? new Response(null, { status: 404 }) : new Response(jws)
      }
      case '/watch': {
        const current = await this.state.storage.get<{ version: number }>('current')
        const watchers = this.watchers
        let self: ReadableStreamDefaultController<Uint8Array>
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            self = controller
            watchers.add(controller)
            // The first line says the watch is live, so the caller may read current safely.
            controller.enqueue(encoder.encode(`ready ${current?.version ?? 0}\n`))
          },
          cancel() {
            watchers.delete(self)
          },
        })
        // Not text/*: a compressing hop would buffer the lines.
        return new Response(stream, { headers: { 'content-type': 'application/octet-stream' } })
      }
      default:
        return new Response(null, { status: 404 })
    }
  }

  private async put(mesh: string, ver: number, jws: string, meta: VersionMeta): Promise<PutResult> {
    const current = await this.state.storage.get<{ version: number; digest: string }>('current')
    if (current && current.version >= ver) return { ok: false, current: current.version }
    const entry = { ...meta, version: ver }
    await this.env.LEGATE_KV.put(versionKey(mesh, ver), jws, { metadata: entry })
    await this.state.storage.put({ current: { version: ver, digest: meta.digest }, [metaKey(ver)]: entry })
    await this.env.LEGATE_KV.put(currentKey(mesh), jws, { metadata: { version: ver, digest: meta.digest } })
    const line = encoder.encode(`${ver}\n`)
    for (const watcher of [...this.watchers]) {
      try {
        watcher.enqueue(line)
      } catch {
        this.watchers.delete(watcher)
      }
    }
    return { ok: true }
  }
}

export interface KvDurableObjectStoreOptions {
  /** The Durable Object namespace bound to `ControlMesh`. */
  namespace: DurableObjectNamespaceLike
}

/** The store the control app uses inside a Worker: every call goes to the mesh's object. */
export function kvDurableObjectStore(options: KvDurableObjectStoreOptions): ConfigStore {
  const stub = (mesh: string) => options.namespace.get(options.namespace.idFromName(mesh) as never)
  const call = async (mesh: string, path: string, init: RequestInit = {}) => {
    let res: Response
    try {
      res = await stub(mesh).fetch(`${ORIGIN}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), [MESH_HEADER]: mesh } })
    } catch (err) {
      throw storeError(STORE_NAME, `${path}: ${(err as Error).message}`, err)
    }
    if (res.status >= 500) throw storeError(STORE_NAME, `${path}: ${await res.text()}`)
    return res
  }

  const store: ConfigStore = {
    name: STORE_NAME,
    async putIfNewer(mesh, ver, jws, meta) {
      const res = await call(mesh, '/put', { method: 'POST', body: JSON.stringify({ ver, jws, meta }) })
      return (await res.json()) as PutResult
    },
    async current(mesh) {
      return ((await (await call(mesh, '/current')).json()) as CurrentConfig | null) ?? undefined
    },
    async listVersions(mesh) {
      return (await (await call(mesh, '/versions')).json()) as VersionMeta[]
    },
    async getVersion(mesh, ver) {
      const res = await call(mesh, `/version?ver=${ver}`)
      return res.status === 200 ? res.text() : (await res.body?.cancel(), undefined)
    },
    async subscribe(mesh, listener) {
      // One streamed request per subscriber: a Worker must not share I/O between requests.
      const res = await call(mesh, '/watch')
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      let ready = false
      const nextLine = async (): Promise<string | undefined> => {
        for (;;) {
          const newline = buffered.indexOf('\n')
          if (newline >= 0) {
            const line = buffered.slice(0, newline)
            buffered = buffered.slice(newline + 1)
            return line
          }
          const { done, value } = await reader.read()
          if (done) return undefined
          buffered += value
        }
      }
      const first = await nextLine()
      ready = first?.startsWith('ready') ?? false
      if (!ready) throw storeError(STORE_NAME, 'watch did not start')
      let closed = false
      ;(async () => {
        for (let line = await nextLine(); line !== undefined && !closed; line = await nextLine()) {
          const version = Number(line)
          if (Number.isSafeInteger(version)) listener(version)
        }
        // The object went away (a deploy, an eviction): a publish may have been missed, so
        // announce what is current now; a waiter still up to date times out as usual.
        if (!closed) {
          const current = await store.current(mesh)
          if (current && !closed) listener(current.version)
        }
      })().catch(() => {})
      return () => {
        if (closed) return
        closed = true
        reader.cancel().catch(() => {})
      }
    },
    async close() {},
  }
  return store
}
