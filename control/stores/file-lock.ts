/**
 * A lock file that serializes writers across processes sharing one directory, and that a
 * `kill -9` cannot wedge.
 *
 * The lock is created whole with `link()` (atomic, fails when the name exists), so it is
 * never seen empty. It holds `<pid> <token>`, the token unique to one acquisition. A waiter
 * that finds the owner dead breaks it; so does one that finds its own pid with a token no
 * store of its process holds (a restart that reused the pid). Breaking is guarded by a
 * short-lived `.break` lock and removes the lock only if it still holds the very token
 * judged stale, so two waiters cannot both break and then both take it; a `.break` left by
 * a process killed in those few microseconds is removed once older than BREAK_STALE_MS.
 * Release removes the lock only if it still holds our token. Single host: pids mean nothing
 * across machines (use Redis there).
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
/** Tokens of locks this process holds or is taking (any store instance). */
const heldHere = new Set<string>()

/** Creates `path` holding `content`, atomically; false when it already exists. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${++sequence}.tmp`
  await writeFile(tmp, `${content}\n`)
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

async function contentOf(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim()
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined
    throw err
  }
}

const pidOf = (content: string) => Number(content.split(' ')[0])

function isStale(content: string): boolean {
  const pid = pidOf(content)
  return pid === process.pid ? !heldHere.has(content) : !alive(pid)
}

/** Removes `lockPath` if it still holds the content judged stale; guarded so only one waiter does it. */
async function breakStale(lockPath: string, stale: string): Promise<void> {
  const breakPath = `${lockPath}.break`
  if (!(await createExclusive(breakPath, `${process.pid} break-${++sequence}`))) {
    try {
      const info = await stat(breakPath)
      const breaker = await contentOf(breakPath)
      if (Date.now() - info.mtimeMs > BREAK_STALE_MS && (breaker === undefined || !alive(pidOf(breaker)))) await unlink(breakPath).catch(() => {})
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err
    }
    return
  }
  try {
    if ((await contentOf(lockPath)) === stale) await unlink(lockPath).catch(() => {})
  } finally {
    await unlink(breakPath).catch(() => {})
  }
}

/** Takes the lock at `lockPath`; resolves with its release function. */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  const token = `${process.pid} ${Date.now().toString(36)}-${++sequence}-${Math.random().toString(36).slice(2, 10)}`
  let delay = 1
  for (;;) {
    // Marked before the link, so no other store of this process can see our fresh lock
    // unmarked and take it for a dead namesake's.
    heldHere.add(token)
    let created = false
    try {
      created = await createExclusive(lockPath, token)
    } finally {
      if (!created) heldHere.delete(token)
    }
    if (created) {
      return async () => {
        // Only our own lock: if it was (wrongly) broken and retaken, leave the new owner's.
        if ((await contentOf(lockPath).catch(() => undefined)) === token) await unlink(lockPath).catch(() => {})
        heldHere.delete(token)
      }
    }
    const owner = await contentOf(lockPath)
    if (owner !== undefined && isStale(owner)) {
      await breakStale(lockPath, owner)
      continue
    }
    if (Date.now() > deadline) throw storeError('file', `timed out waiting for the lock ${lockPath} (held by pid ${owner === undefined ? '?' : pidOf(owner)})`)
    await sleep(delay + Math.random() * delay)
    delay = Math.min(delay * 2, 20)
  }
}
