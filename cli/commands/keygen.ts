/** `legate keygen`: a signing key pair for operators (configs) or workloads (identity). @module */
import { open, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { LegateError } from '../../protocol/errors.ts'
import type { SigningAlg } from '../../protocol/keys.ts'
import { option, UsageError } from '../options.ts'

export function keygen(program: Command) {
  program
    .command('keygen')
    .description('write PATH.private.jwk.json (mode 0600) and PATH.jwks.json (the public trust file)')
    .addOption(option('--kid <kid>', 'key id, as it will appear in JWS headers').makeOptionMandatory())
    .addOption(option('--alg <alg>', 'EdDSA (Ed25519) or ES256 (P-256)').default('EdDSA').choices(['EdDSA', 'ES256']))
    .addOption(option('--out <path>', 'path prefix of the two files').makeOptionMandatory())
    .addOption(option('--force', 'overwrite an existing private key'))
    .action(async (opts: { kid: string; alg: SigningAlg; out: string; force?: boolean }) => {
      if (!/^[A-Za-z0-9._:-]{1,128}$/.test(opts.kid)) throw new UsageError(`--kid must be 1-128 characters of A-Z a-z 0-9 . _ : -`)
      const { generateSigningKey } = await import('../../protocol/keys.ts')
      const { privateJwk, publicJwk } = await generateSigningKey(opts.kid, opts.alg)
      const privatePath = `${opts.out}.private.jwk.json`
      const publicPath = `${opts.out}.jwks.json`
      // Created with 0600 in one step: the key is never readable by others, not even briefly.
      let file
      try {
        file = await open(privatePath, opts.force ? 'w' : 'wx', 0o600)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code === 'EEXIST') throw new LegateError('io_error', `${privatePath} exists; pass --force to overwrite it`)
        throw new LegateError('io_error', `cannot write ${privatePath}: ${code}`)
      }
      try {
        await file.chmod(0o600)
        await file.writeFile(JSON.stringify(privateJwk, null, 2) + '\n')
      } finally {
        await file.close()
      }
      await writeFile(publicPath, JSON.stringify({ keys: [publicJwk] }, null, 2) + '\n')
      process.stdout.write(`wrote ${privatePath} (private, 0600) and ${publicPath} (public trust file), kid ${opts.kid}, ${opts.alg}\n`)
    })
}
