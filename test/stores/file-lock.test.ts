/** The file store's lock on its own: stale locks of dead processes are broken, live ones waited for. */
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireFileLock } from '../../control/stores/file-lock.ts'
import { isLegateError } from '../../protocol/index.ts'

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
  return Number(child.stdout.toString())
}

it('breaks a lock left by a dead process, and a stale .break left by a dead breaker', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-lock-'))
  try {
    const lock = join(dir, 'lock')
    await writeFile(lock, `${deadPid()}\n`)
    await writeFile(`${lock}.break`, `${deadPid()}\n`)
    const old = new Date(Date.now() - 10_000)
    await utimes(`${lock}.break`, old, old)
    const t0 = Date.now()
    const release = await acquireFileLock(lock, { timeoutMs: 3000 })
    assert.ok(Date.now() - t0 < 2000)
    assert.equal((await readFile(lock, 'utf8')).trim(), String(process.pid))
    await release()
    await assert.rejects(readFile(lock))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

it('waits for a live owner, then gives up with store_error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-lock-'))
  try {
    const lock = join(dir, 'lock')
    // pid 1 is alive for as long as the machine (or container) is.
    await writeFile(lock, '1\n')
    const t0 = Date.now()
    await assert.rejects(acquireFileLock(lock, { timeoutMs: 300 }), (err) => isLegateError(err) && err.code === 'store_error' && /held by pid 1/.test(err.message))
    assert.ok(Date.now() - t0 >= 300)
    assert.equal((await readFile(lock, 'utf8')).trim(), '1')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

it('serializes holders in one process: the second waits for the first to release', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-lock-'))
  try {
    const lock = join(dir, 'lock')
    const first = await acquireFileLock(lock)
    let secondHeld = false
    const second = acquireFileLock(lock).then((release) => {
      secondHeld = true
      return release
    })
    await new Promise((r) => setTimeout(r, 100))
    assert.equal(secondHeld, false, 'a lock held by a live store of this process was broken')
    await first()
    await (await second)()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
