/**
 * A lock file that serializes writers across processes sharing one directory, and that a
 * `kill -9` cannot wedge.
 *
 * The lock is created whole with `link()` (atomic, fails when the name exists), so it is
 * never seen empty. It names its owner's pid; a waiter that finds the owner dead (or the
 * pid is its own but no store of this process holds it: a restart that reused the pid) breaks it.
 * Breaking is itself guarded by a short-lived `.break` lock, so two waiters cannot both
 * break the same stale lock and then both take it; a `.break` lock left by a process killed
 * in those few microseconds is removed once it is older than BREAK_STALE_MS. Single host:
 * pids mean nothing across machines (use Redis there).
 * @module
 */
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { storeError } from './errors.ts'

const BREAK_STALE_MS = 2_000

export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const code = (err: unknown) => (err as NodeJS.ErrnoException).code

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return code(err) === 'EPERM'
  }
}

let sequence = 0
/** Locks held or being taken by this process (any store instance, counted), to tell our live locks from a dead namesake's. */
const heldHere = new Map<string, number>()
const mark = (path: string, delta: number) => {
  const n = (heldHere.get(path) ?? 0) + delta
  if (n > 0) heldHere.set(path, n)
  else heldHere.delete(path)
}

/** Creates `path` holding our pid, atomically; false when it already exists. */
async function createExclusive(path: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`
  await writeFile(tmp, `${process.pid}\n`)
  try {
    await link(tmp, path)
    return true
  } catch (err) {
    if (code(err) === 'EEXIST') return false
    throw err
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

async function ownerOf(path: string): Promise<number | undefined> {
  try {
    return Number((await readFile(path, 'utf8')).trim())
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined
    throw err
  }
}

/** Removes `lockPath` if it still names the same stale owner; guarded so only one waiter does it. */
async function breakStale(lockPath: string, staleOwner: number): Promise<void> {
  const breakPath = `${lockPath}.break`
  if (!(await createExclusive(breakPath))) {
    try {
      const info = await stat(breakPath)
      const breaker = await ownerOf(breakPath)
      if (Date.now() - info.mtimeMs > BREAK_STALE_MS && (breaker === undefined || !alive(breaker))) await unlink(breakPath).catch(() => {})
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err
    }
    return
  }
  try {
    if ((await ownerOf(lockPath)) === staleOwner) await unlink(lockPath).catch(() => {})
  } finally {
    await unlink(breakPath).catch(() => {})
  }
}

/**
 * Takes the lock at `lockPath`. The caller must also serialize inside its own process
 * (the lock names a pid, so it cannot tell two callers of one process apart).
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  let delay = 1
  for (;;) {
    // Marked before the link, so no other store of this process can see our fresh lock
    // unmarked and take it for a dead namesake's.
    mark(lockPath, 1)
    let created = false
    try {
      created = await createExclusive(lockPath)
    } finally {
      if (!created) mark(lockPath, -1)
    }
    if (created) {
      return async () => {
        mark(lockPath, -1)
        await unlink(lockPath).catch(() => {})
      }
    }
    const owner = await ownerOf(lockPath)
    // Our own pid on a lock we do not hold is a previous process's lock (pid reuse).
    if (owner !== undefined && (owner === process.pid ? !heldHere.has(lockPath) : !alive(owner))) {
      await breakStale(lockPath, owner)
      continue
    }
    if (Date.now() > deadline) throw storeError('file', `timed out waiting for the lock ${lockPath} (held by pid ${owner})`)
    await sleep(delay + Math.random() * delay)
    delay = Math.min(delay * 2, 20)
  }
}
