/**
 * The store suite on Deno KV, in real Deno child processes (`npx deno`); skipped with a
 * message only when the deno binary is missing. Two processes open the same KV file, so
 * the concurrent-publish checks cross processes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { remoteStore } from './rpc.ts'
import { testConfigStore } from './suite.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DENO = join(ROOT, 'node_modules/.bin/deno')
const hasDeno = spawnSync(DENO, ['--version']).status === 0
const children: ChildProcess[] = []
let dir: string | undefined

function startFixture(kvPath: string): Promise<string> {
  const child = spawn(DENO, ['run', '--unstable-kv', '-A', join(ROOT, 'test/stores/deno-kv.fixture.deno.ts'), kvPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' } })
  children.push(child)
  let out = ''
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`deno fixture did not start: ${err}`)), 60_000)
    child.once('exit', (code) => reject(new Error(`deno fixture exited ${code}: ${err}`)))
    child.stdout!.on('data', (d) => {
      out += d
      const port = /listening (\d+)/.exec(out)?.[1]
      if (port) {
        clearTimeout(timer)
        resolve(`http://127.0.0.1:${port}`)
      }
    })
  })
}

testConfigStore({
  name: 'deno-kv (real deno)',
  skip: hasDeno ? undefined : `deno is not installed (${DENO}); npm i -D deno`,
  open: async () => {
    dir = await mkdtemp(join(tmpdir(), 'legate-deno-kv-'))
    return remoteStore(await startFixture(join(dir, 'kv.sqlite')), 'deno-kv')
  },
  // A second Deno process on the same KV file: compare-and-set holds across processes, but
  // the local (sqlite) kv.watch only sees its own process's writes; Deno Deploy's sees all.
  peerNotifies: false,
  openPeer: async () => remoteStore(await startFixture(join(dir!, 'kv.sqlite')), 'deno-kv'),
  teardown: async () => {
    for (const child of children) {
      child.removeAllListeners('exit')
      child.kill('SIGTERM')
    }
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)))
    if (dir) await rm(dir, { recursive: true, force: true })
  },
})
