/** `legate verify JWS --trust JWKS`: prints the CONTRACT §3 summary of a valid signed config. @module */
import type { Command } from 'commander'
import { maxConfigBytesOption, option, readJws, readTrust } from '../options.ts'

export function verify(program: Command) {
  program
    .command('verify')
    .description('verify a signed config with pinned keys; prints {mesh, ver, iss, iat, exp, kid, digest}')
    .argument('<jws>', 'signed config file, or - for stdin')
    .addOption(option('--trust <jwks>', 'trusted public keys (JWKS file)').makeOptionMandatory())
    .addOption(option('--mesh <mesh>', 'the mesh it must be for (default: the one it names)'))
    .addOption(maxConfigBytesOption())
    .action(async (path: string, opts: { trust: string; mesh?: string; maxConfigBytes?: number }) => {
      const { summarize, verifyConfig } = await import('../../protocol/index.ts')
      const trust = await readTrust(opts.trust)
      const jws = await readJws(path, opts.maxConfigBytes)
      const verified = await verifyConfig(jws, { trust, mesh: opts.mesh, maxBytes: opts.maxConfigBytes })
      process.stdout.write(JSON.stringify(summarize(verified)) + '\n')
    })
}
