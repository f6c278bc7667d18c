/** `legate sign CONFIG --key PRIVATE_JWK`: validate, then sign into a compact JWS. @module */
import { writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { LegateError } from '../../protocol/errors.ts'
import { option, positiveInt, readJson, readText, UsageError } from '../options.ts'

const TTL_UNITS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 }

/** `30d`, `12h`, `1d12h`: the Gateway API duration units plus days. */
export function parseTtl(text: string): number {
  if (!/^([0-9]+[dhms])+$/.test(text)) throw new UsageError(`--ttl must look like 30d, 12h or 1d12h, not "${text}"`)
  let seconds = 0
  for (const [, n, unit] of text.matchAll(/([0-9]+)([dhms])/g)) seconds += Number(n) * TTL_UNITS[unit!]!
  if (seconds < 1) throw new UsageError('--ttl must be at least 1s')
  return seconds
}

export function sign(program: Command) {
  program
    .command('sign')
    .description('validate a mesh config and sign it (prints the JWS, or writes it with -o)')
    .argument('<config>', 'config file (YAML or JSON)')
    .addOption(option('--key <private-jwk>', 'the operator private key (from legate keygen)').makeOptionMandatory())
    .addOption(option('--ver <n>', 'version, strictly increasing per mesh (default: now in ms)').argParser(positiveInt('--ver')))
    .addOption(option('--ttl <duration>', 'lifetime, e.g. 30d, 12h').default('30d'))
    .addOption(option('--iss <name>', 'publisher name (default: the key id)'))
    .addOption(option('-o, --output <file>', 'write the JWS here instead of stdout'))
    .action(async (path: string, opts: { key: string; ver?: number; ttl: string; iss?: string; output?: string }) => {
      const ttlSeconds = parseTtl(opts.ttl)
      const { configDigest, importSigningKey, parseConfigText, signConfig } = await import('../../protocol/index.ts')
      const doc = parseConfigText(await readText(path, 'config'), path)
      const key = await importSigningKey(await readJson(opts.key, 'key file'), `key file ${opts.key}`)
      const jws = await signConfig(doc, { ...key, ver: opts.ver, ttlSeconds, iss: opts.iss })
      if (opts.output) {
        try {
          await writeFile(opts.output, jws + '\n')
        } catch (err) {
          throw new LegateError('io_error', `cannot write ${opts.output}: ${(err as NodeJS.ErrnoException).code}`)
        }
        process.stderr.write(`signed ${path} → ${opts.output} (${await configDigest(jws)})\n`)
      } else {
        process.stdout.write(jws + '\n')
      }
    })
}
