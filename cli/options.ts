/**
 * Shared CLI plumbing: options that also read `LEGATE_<FLAG>` from the environment
 * (CONTRACT §3), and readers for the files commands take.
 * @module
 */
import { readFile, stat } from 'node:fs/promises'
import { Option } from 'commander'
import { LegateError } from '../protocol/errors.ts'
import { createTrustSet, type TrustSet } from '../protocol/keys.ts'
import { DEFAULT_MAX_CONFIG_BYTES } from '../protocol/envelope/claims.ts'

/** `--max-config-bytes <n>` → env `LEGATE_MAX_CONFIG_BYTES`. */
export function envName(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)?.[1]
  if (!long) throw new TypeError(`no long flag in "${flags}"`)
  return `LEGATE_${long.replace(/-/g, '_').toUpperCase()}`
}

/** An option that falls back to its `LEGATE_<FLAG>` environment variable. */
export const option = (flags: string, description: string) => new Option(flags, description).env(envName(flags))

export const positiveInt = (name: string) => (value: string): number => {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`${name} must be a positive integer, not "${value}"`)
  return Number(value)
}

export const port = (value: string): number => {
  const n = positiveInt('port')(value)
  if (n > 65535) throw new UsageError(`port must be 1..65535, not ${value}`)
  return n
}

export const maxConfigBytesOption = () =>
  option('--max-config-bytes <n>', `refuse signed configs larger than this (default ${DEFAULT_MAX_CONFIG_BYTES})`).argParser(positiveInt('--max-config-bytes'))

/** A mistake in how the command was called: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new LegateError('io_error', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

export async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new LegateError('malformed', `${what} ${path} is not JSON: ${(err as Error).message}`)
  }
}

/** Reads a signed config, refusing an oversized file before reading it (CONTRACT §2). */
export async function readJws(path: string, maxBytes = DEFAULT_MAX_CONFIG_BYTES): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length
      if (size > maxBytes) throw new LegateError('too_large', `signed config on stdin is over the ${maxBytes}-byte limit`)
      chunks.push(chunk as Buffer)
    }
    return Buffer.concat(chunks).toString('utf8').trim()
  }
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    throw new LegateError('io_error', `cannot read signed config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  // A trailing newline is not part of the JWS; allow room for it.
  if (size > maxBytes + 2) throw new LegateError('too_large', `signed config ${path} is ${size} bytes, over the ${maxBytes}-byte limit`)
  return (await readText(path, 'signed config')).trim()
}

export async function readTrust(path: string): Promise<TrustSet> {
  return createTrustSet(await readJson(path, 'trust file'), `trust file ${path}`)
}
