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
    assert.equal((await readFile(lock, 'utf8')).split(' ')[0], String(process.pid))
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

it('mutual exclusion under contention: 6 holders in this process and 2 in others, 30 turns each', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'legate-lock-'))
  try {
    const lock = join(dir, 'lock')
    const log = join(dir, 'log')
    await writeFile(log, '')
    const { appendFile } = await import('node:fs/promises')
    const { spawn } = await import('node:child_process')
    const { fileURLToPath } = await import('node:url')
    // Each turn appends "in" then "out" while holding the lock; any overlap shows as in,in.
    const turn = async () => {
      const release = await acquireFileLock(lock, { timeoutMs: 30_000 })
      await appendFile(log, 'in\n')
      await new Promise((r) => setTimeout(r, Math.random() * 2))
      await appendFile(log, 'out\n')
      await release()
    }
    const module = fileURLToPath(new URL('../../control/stores/file-lock.ts', import.meta.url))
    const script = `const { acquireFileLock } = await import(${JSON.stringify(module)}); const { appendFile } = await import('node:fs/promises');
      for (let i = 0; i < 30; i++) { const r = await acquireFileLock(${JSON.stringify(lock)}, { timeoutMs: 30000 }); await appendFile(${JSON.stringify(log)}, 'in\\n'); await new Promise((x) => setTimeout(x, Math.random() * 2)); await appendFile(${JSON.stringify(log)}, 'out\\n'); await r() }`
    const others = [0, 1].map(
      () =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' })
          child.on('exit', (code) => resolve(code))
        }),
    )
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 30; i++) await turn()
    }))
    assert.deepEqual(await Promise.all(others), [0, 0])
    const lines = (await readFile(log, 'utf8')).trim().split('\n')
    assert.equal(lines.length, 2 * 30 * 8)
    for (let i = 0; i < lines.length; i += 2) assert.deepEqual([lines[i], lines[i + 1]], ['in', 'out'], `overlap at line ${i}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
