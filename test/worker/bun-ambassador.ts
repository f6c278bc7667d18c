/**
 * `legate ambassador` under Bun (`bun bin/legate.js`) as a child process, for the Bun tests:
 * a config document signed with a fresh key and served from a file, the outbound listener
 * on a free port, ready when its /readyz answers 200.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createSigner, tempDir, until } from './helpers.ts'

const root = new URL('../../', import.meta.url).pathname
const bun = join(root, 'node_modules/.bin/bun')

/** False when Bun is installed; else why the Bun tests are skipped. */
export const skipWithoutBun: false | string = spawnSync(bun, ['--version']).status === 0 ? false : 'bun not installed'

/** A port nothing listens on right now. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

export interface BunAmbassador {
  outbound: number
  close(): Promise<void>
}

export async function startBunAmbassador(config: Record<string, unknown>): Promise<BunAmbassador> {
  const signer = await createSigner()
  const dir = tempDir()
  writeFileSync(join(dir, 'trust.json'), JSON.stringify(signer.trust.jwks))
  writeFileSync(join(dir, 'c.jws'), await signer.sign(config, 1))
  const admin = await freePort()
  const outbound = await freePort()
  const args = ['bin/legate.js', 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', String(config.mesh), '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'silent']
  const child: ChildProcess = spawn(bun, args, { cwd: root, stdio: 'ignore' })
  await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
  return {
    outbound,
    async close() {
      if (child.exitCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}
