/**
 * Runs `legate control` as a real child process (bin/legate.js) and waits for its
 * "listening on" line; `kill()` sends a signal and waits for the exit.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/legate.js', import.meta.url))

export interface ControlProcess {
  url: string
  pid: number
  child: ChildProcess
  stderr(): string
  kill(signal?: NodeJS.Signals): Promise<void>
}

export async function writeTrust(dir: string, jwks: unknown): Promise<string> {
  const path = join(dir, 'trust.jwks.json')
  await writeFile(path, JSON.stringify(jwks))
  return path
}

export function spawnControl(args: { store: string; trust: string; publishToken?: string; extra?: string[] }): Promise<ControlProcess> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LEGATE_') && v !== undefined) env[k] = v
  const argv = [BIN, 'control', '--port', '0', '--host', '127.0.0.1', '--store', args.store, '--trust', args.trust, ...(args.publishToken ? ['--publish-token', args.publishToken] : []), ...(args.extra ?? [])]
  const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`legate control did not start in 15 s: ${stderr}`))
    }, 15_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`legate control exited with ${code}: ${stderr}`))
    })
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      const url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1]
      if (!url) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({
        url,
        pid: child.pid!,
        child,
        stderr: () => stderr,
        async kill(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGKILL')
            await exited
          }
        },
      })
    })
  })
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export async function rssMiB(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
  return Math.round((kb / 1024) * 10) / 10
}
