/**
 * Runs the real `legate` binary (bin/legate.js) in a child process, the way an operator
 * does, with a clean environment: no LEGATE_* variable leaks in from the test runner.
 * @module
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin/legate.js')
export const EXAMPLE = join(ROOT, 'examples/mesh.yaml')

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  cwd?: string
  env?: Record<string, string>
  stdin?: string
}

export function legate(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LEGATE_') && v !== undefined) env[k] = v
  Object.assign(env, options.env)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.stdin ?? '')
  })
}

/** A fresh temporary directory, and a function that removes it. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'legate-cli-'))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

/** The stderr form of a refused input (CONTRACT §3): `error: <code>: <message>`. */
export const REFUSAL_RE = /^error: ([a-z_]+): \S.*$/m
