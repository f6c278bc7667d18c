/**
 * `legate ambassador`: runs an ambassador on Node, or on Bun or Deno when the CLI runs there
 * (CONTRACT §3, §5). Config comes from a
 * control (`--control`, long-polled) or a watched signed file (`--config-file`).
 * @module
 */
import type { Command } from 'commander'
import { isLogLevel, LOG_LEVELS } from '../../worker/observe/access-log.ts'
import { maxConfigBytesOption, option, port, readJson, readTrust, UsageError } from '../options.ts'
import { protocolOptions, protocolSettings, type ProtocolFlags } from '../protocol-options.ts'
import { onStopSignals } from '../../worker/platforms/node/drain.ts'

interface AmbassadorFlags extends ProtocolFlags {
  control?: string
  configFile?: string
  mesh: string
  trust: string
  service?: string
  app?: string
  inbound: number
  outbound: number
  admin: number
  state?: string
  identityKey?: string
  ratelimitStore?: string
  logLevel: string
  maxConfigBytes?: number
}

const origin = (flag: string) => (value: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new UsageError(`${flag} must be an absolute http(s) URL, not "${value}"`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${flag} must be an http(s) URL, not "${value}"`)
  return flag === '--app' ? url.origin : value.replace(/\/+$/, '')
}

/** The runtime running this CLI: Bun and Deno get their own entry (undici and node:http2 are Node's). */
const runtime = (globalThis as { Bun?: unknown }).Bun ? 'bun' : (globalThis as { Deno?: unknown }).Deno ? 'deno' : 'node'

type Settings = Parameters<typeof import('../../worker/entry/node.ts').startNodeAmbassador>[0]

async function startForRuntime(settings: Settings, opts: AmbassadorFlags, cmd: Command): Promise<{ drain(): Promise<unknown>; close(): Promise<void> }> {
  if (runtime === 'node') return (await import('../../worker/entry/node.ts')).startNodeAmbassador({ ...settings, ...protocolSettings(opts) })
  // Listener limits, drain and --app-protocol are the Node listener's: say so rather than ignore them quietly.
  const nodeOnly = cmd.options.filter((o) => protocolFlagNames.has(o.attributeName()) && cmd.getOptionValueSource(o.attributeName()) !== 'default').map((o) => o.long)
  if (nodeOnly.length) process.stderr.write(`warning: ${nodeOnly.join(', ')} ${nodeOnly.length === 1 ? 'applies' : 'apply'} on Node only; ignored on ${runtime} (see docs/runtimes.md)\n`)
  const running = runtime === 'bun' ? await (await import('../../worker/entry/bun.ts')).startBunAmbassador(settings) : await (await import('../../worker/entry/deno.ts')).startDenoAmbassador(settings)
  // No drain delay off Node: a stop signal stops accepting and lets in-flight requests finish (Bun: for at most 5 s).
  return { drain: async () => true, close: running.close }
}

const protocolFlagNames = new Set(['drainDelay', 'drainTimeout', 'maxHeaderBytes', 'maxHeaderCount', 'headersTimeout', 'idleTimeout', 'maxConnections', 'maxRequestBody', 'tunnelIdleTimeout', 'appProtocol'])

export function ambassador(program: Command) {
  const cmd = program
    .command('ambassador')
    .description('run an ambassador on Node: inbound, outbound (also an HTTP proxy) and admin listeners')
    .addOption(option('--control <url>', 'control API base URL to subscribe to').argParser(origin('--control')))
    .addOption(option('--config-file <jws>', 'a signed config file to serve and watch (instead of --control)'))
    .addOption(option('--mesh <mesh>', 'the mesh this ambassador belongs to').makeOptionMandatory())
    .addOption(option('--trust <jwks>', 'trusted config signing keys (JWKS file)').makeOptionMandatory())
    .addOption(option('--service <name>', 'this node\'s service (inbound policies apply for it)'))
    .addOption(option('--app <url>', 'the local app inbound requests go to, e.g. http://127.0.0.1:8080').argParser(origin('--app')))
    .addOption(option('--inbound <port>', 'inbound listener port').argParser(port).default(15006))
    .addOption(option('--outbound <port>', 'outbound listener port (also HTTP_PROXY)').argParser(port).default(15001))
    .addOption(option('--admin <port>', 'admin listener port').argParser(port).default(15000))
    .addOption(option('--state <dir>', 'keep the last-known-good config here; served at once on restart'))
    .addOption(option('--identity-key <jwk>', 'this service\'s private workload key (JWK file)'))
    .addOption(option('--ratelimit-store <url>', 'redis://host:port: the shared store for scope: global rate limits'))
    .addOption(option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`).default('info'))
    .addOption(maxConfigBytesOption())
  protocolOptions(cmd)
    .action(async (opts: AmbassadorFlags, cmd: Command) => {
      if (!opts.control === !opts.configFile) throw new UsageError('give exactly one of --control or --config-file')
      if (opts.app && !opts.service) throw new UsageError('--app needs --service (the service inbound requests are for)')
      if (opts.identityKey && !opts.service) throw new UsageError('--identity-key needs --service (the service its tokens speak for)')
      if (!isLogLevel(opts.logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
      const trust = await readTrust(opts.trust)
      const identityKey = opts.identityKey ? await readJson(opts.identityKey, 'identity key') : undefined
      if (opts.ratelimitStore && !/^rediss?:\/\//.test(opts.ratelimitStore)) throw new UsageError('--ratelimit-store must be a redis:// or rediss:// URL')
      // ioredis is loaded only when a store is given.
      const rateLimitStore = opts.ratelimitStore ? (await import('../../worker/policy/node/connect-redis-limiter.ts')).connectRedisLimiter(opts.ratelimitStore) : undefined
      const settings = {
        trust,
        mesh: opts.mesh,
        service: opts.service,
        app: opts.app,
        control: opts.control,
        configFile: opts.configFile,
        stateDir: opts.state,
        identityKey,
        rateLimitStore,
        logLevel: opts.logLevel,
        maxConfigBytes: opts.maxConfigBytes,
        inboundPort: opts.inbound,
        outboundPort: opts.outbound,
        adminPort: opts.admin,
      }
      const running = await startForRuntime(settings, opts, cmd)
      // SIGTERM/SIGINT: drain (readyz 503, stop accepting after --drain-delay, finish in-flight work), exit 0; a second signal exits at once.
      onStopSignals(async () => {
        await running.drain()
        await running.close()
      })
    })
}
