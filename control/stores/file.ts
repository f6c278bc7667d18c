/**
 * File store: the embedded default of `legate control` on Node. One directory per mesh:
 *
 *     <dir>/meshes/<mesh>/versions/<ver>.jws    the signed config, byte for byte
 *     <dir>/meshes/<mesh>/versions/<ver>.json   its listing entry (written after the .jws)
 *     <dir>/meshes/<mesh>/current               {"version", "digest"}, written last
 *
 * Every file is written to a temp name, fsynced, renamed over its final name, and the
 * directory fsynced, so a `kill -9` or power loss at any point leaves either the old or the
 * new file, never a torn one. `current` is the commit point: a version is stored once
 * `current` has named it (so it is ≤ current and has its `.json`); files above current are
 * a publish cut short, hidden from readers and removed by the next publish. Writers are serialized per mesh inside the process
 * (a promise chain) and across processes (a lock file, see file-lock.ts). Other processes'
 * publishes wake this one's long-polls through a watch on the mesh directory.
 * @module
 */
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises'
import { watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import type { ConfigStore, CurrentConfig, VersionMeta } from '../store.ts'
import { createListeners } from './listeners.ts'
import { acquireFileLock } from './file-lock.ts'
import { storeError } from './errors.ts'
import { sharedReads } from './shared-reads.ts'

export const STORE_NAME = 'file'

export interface FileStoreOptions {
  dir: string
  /** How long a publish waits for another process's lock (default 10 s). */
  lockTimeoutMs?: number
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code
let sequence = 0

async function fsyncDir(dir: string) {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function writeAtomic(path: string, data: string, dir: string) {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`
  const handle = await open(tmp, 'wx')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fsyncDir(dir)
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined
    throw err
  }
}

export function fileStore(options: FileStoreOptions): ConfigStore {
  const root = join(options.dir, 'meshes')
  const meshDir = (mesh: string) => join(root, mesh)
  const versionsDir = (mesh: string) => join(root, mesh, 'versions')
  const chains = new Map<string, Promise<unknown>>()
  const watchers = new Map<string, { watcher: FSWatcher; last?: number }>()

  /** Runs `fn` after every earlier write of this mesh in this process. */
  function serialize<T>(mesh: string, fn: () => Promise<T>): Promise<T> {
    const previous = chains.get(mesh) ?? Promise.resolve()
    const run = previous.then(fn, fn)
    const settled = run.catch(() => {})
    chains.set(mesh, settled)
    settled.then(() => {
      if (chains.get(mesh) === settled) chains.delete(mesh)
    })
    return run
  }

  async function readCurrentPointer(mesh: string): Promise<{ version: number; digest: string } | undefined> {
    const text = await readOptional(join(meshDir(mesh), 'current'))
    return text === undefined ? undefined : JSON.parse(text)
  }

  const reads = sharedReads(readCurrent)

  async function readCurrent(mesh: string): Promise<CurrentConfig | undefined> {
    const pointer = await readCurrentPointer(mesh)
    if (!pointer) return undefined
    const jws = await readOptional(join(versionsDir(mesh), `${pointer.version}.jws`))
    if (jws === undefined) throw storeError(STORE_NAME, `mesh "${mesh}": current names version ${pointer.version}, which is missing`)
    return { version: pointer.version, digest: pointer.digest, jws }
  }

  /**
   * Under the lock, anything newer than current, and any temp file, is what a writer killed
   * mid-publish left: never committed, so removed before it could be mistaken for a version.
   */
  async function removeUncommitted(mesh: string, currentVersion: number) {
    const dir = versionsDir(mesh)
    for (const name of await readdir(dir)) {
      const ver = /^([0-9]+)\.(?:jws|json)$/.exec(name)?.[1]
      if (name.endsWith('.tmp') || (ver !== undefined && Number(ver) > currentVersion)) await unlink(join(dir, name)).catch(() => {})
    }
    for (const name of await readdir(meshDir(mesh))) {
      if (/^current\..*\.tmp$/.test(name)) await unlink(join(meshDir(mesh), name)).catch(() => {})
    }
  }

  /** A read in flight may predate the change: woken waiters must start a fresh one. */
  function notify(mesh: string, version: number) {
    reads.forget(mesh)
    listeners.emit(mesh, version)
  }

  const listeners = createListeners({
    async onFirst(mesh) {
      await mkdir(meshDir(mesh), { recursive: true })
      const entry: { watcher: FSWatcher; last?: number } = {
        // `current` is renamed into place, which inotify reports on the directory.
        watcher: watch(meshDir(mesh), { persistent: false }, (_event, name) => {
          if (name !== 'current') return
          readCurrentPointer(mesh)
            .then((pointer) => {
              if (pointer && pointer.version !== entry.last) {
                entry.last = pointer.version
                notify(mesh, pointer.version)
              }
            })
            .catch(() => {})
        }),
      }
      entry.watcher.on('error', () => {})
      watchers.set(mesh, entry)
    },
    onLast(mesh) {
      watchers.get(mesh)?.watcher.close()
      watchers.delete(mesh)
    },
  })

  return {
    name: STORE_NAME,
    putIfNewer(mesh, ver, jws, meta) {
      return serialize(mesh, async () => {
        const dir = versionsDir(mesh)
        await mkdir(dir, { recursive: true })
        const release = await acquireFileLock(join(meshDir(mesh), 'lock'), { timeoutMs: options.lockTimeoutMs })
        try {
          const current = await readCurrentPointer(mesh)
          if (current && current.version >= ver) return { ok: false as const, current: current.version }
          await removeUncommitted(mesh, current?.version ?? 0)
          await writeAtomic(join(dir, `${ver}.jws`), jws, dir)
          await writeAtomic(join(dir, `${ver}.json`), JSON.stringify({ ...meta, version: ver }), dir)
          await writeAtomic(join(meshDir(mesh), 'current'), JSON.stringify({ version: ver, digest: meta.digest }), meshDir(mesh))
        } finally {
          await release()
        }
        notify(mesh, ver)
        return { ok: true as const }
      })
    },
    current: (mesh) => reads.read(mesh),
    async listVersions(mesh) {
      // Committed means at most current: a higher one is a publish cut short (removed by the next).
      const currentVersion = (await readCurrentPointer(mesh))?.version ?? 0
      let names: string[]
      try {
        names = await readdir(versionsDir(mesh))
      } catch (err) {
        if (code(err) === 'ENOENT') return []
        throw err
      }
      const metas: VersionMeta[] = []
      for (const name of names) {
        if (!/^[0-9]+\.json$/.test(name)) continue
        const text = await readOptional(join(versionsDir(mesh), name))
        if (text === undefined) continue
        const meta = JSON.parse(text) as VersionMeta
        if (meta.version <= currentVersion) metas.push(meta)
      }
      return metas.sort((a, b) => b.version - a.version)
    },
    async getVersion(mesh, ver) {
      // Committed means listed (its .json written) and not above current.
      if (ver > ((await readCurrentPointer(mesh))?.version ?? 0)) return undefined
      if ((await readOptional(join(versionsDir(mesh), `${ver}.json`))) === undefined) return undefined
      return readOptional(join(versionsDir(mesh), `${ver}.jws`))
    },
    subscribe: (mesh, listener) => listeners.add(mesh, listener),
    async close() {
      listeners.clear()
      await Promise.all([...chains.values()])
    },
  }
}
