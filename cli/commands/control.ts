/** `legate control`: runs the control worker on Node (CONTRACT §3, §4). @module */
import type { Command } from 'commander'
import { readTrust, maxConfigBytesOption, option, UsageError } from '../options.ts'
import { DEFAULT_STORE_SPEC, describeStore, openStore } from '../../control/stores/from-spec.ts'

/** 0 picks a free port (printed at start). */
const portOrZero = (value: string): number => {
  if (!/^[0-9]+$/.test(value) || Number(value) > 65535) throw new UsageError(`--port must be 0..65535, not "${value}"`)
  return Number(value)
}

interface ControlFlags {
  port: number
  host: string
  store: string
  trust: string
  publishToken?: string
  maxConfigBytes?: number
}

export function control(program: Command) {
  program
    .command('control')
    .description('run the control worker: verifies, stores and serves signed mesh configs')
    .addOption(option('--port <port>', 'listen port (0: any free port)').argParser(portOrZero).default(8787))
    .addOption(option('--host <address>', 'listen address').default('0.0.0.0'))
    .addOption(option('--store <spec>', 'file:DIR, memory: or redis://host:port').default(DEFAULT_STORE_SPEC))
    .addOption(option('--trust <jwks>', 'publisher public keys (JWKS file): only configs they signed are stored').makeOptionMandatory())
    .addOption(option('--publish-token <token>', 'require Authorization: Bearer <token> to publish'))
    .addOption(maxConfigBytesOption())
    .action(async (opts: ControlFlags) => {
      const trust = await readTrust(opts.trust)
      let store
      try {
        store = await openStore(opts.store)
      } catch (err) {
        if (err instanceof TypeError) throw new UsageError(`--store: ${err.message}`)
        throw err
      }
      const { startControl } = await import('../../control/entry.node.ts')
      const running = await startControl({ store, trust, publishToken: opts.publishToken, maxConfigBytes: opts.maxConfigBytes, port: opts.port, hostname: opts.host })
      if (!opts.publishToken) process.stderr.write('legate control: no --publish-token: anyone who can reach this port may publish (signatures are still checked)\n')
      process.stdout.write(`legate control listening on ${running.url} (store ${describeStore(opts.store)}, ${trust.size} trusted key${trust.size === 1 ? '' : 's'})\n`)
      const stop = () => {
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
}
