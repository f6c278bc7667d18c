/**
 * The `legate ambassador` flags of issue 10: listener limits, graceful drain and the local
 * app's protocol. Each reads `LEGATE_<FLAG>` too, and each default is the safe one of
 * `worker/platforms/node/limits.ts` and `drain.ts`.
 * @module
 */
import type { Command } from 'commander'
import { parseDuration } from '../protocol/duration.ts'
import { DEFAULT_LIMITS, type ListenerLimits } from '../worker/platforms/node/limits.ts'
import { DEFAULT_DRAIN_DELAY, DEFAULT_DRAIN_TIMEOUT } from '../worker/platforms/node/drain.ts'
import type { AppProtocol } from '../worker/platforms/node/protocol-forward.ts'
import { option, UsageError } from './options.ts'

export interface ProtocolFlags {
  drainDelay: number
  drainTimeout: number
  maxHeaderBytes: number
  maxHeaderCount: number
  headersTimeout: number
  idleTimeout: number
  maxConnections: number
  maxRequestBody: number
  tunnelIdleTimeout: number
  appProtocol: AppProtocol
}

const duration = (flag: string) => (value: string): number => {
  const ms = parseDuration(value)
  if (ms === undefined) throw new UsageError(`${flag} must be a duration such as 500ms, 10s, 1m, not "${value}"`)
  return ms
}

const count = (flag: string, min: number) => (value: string): number => {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, not "${value}"`)
  return Number(value)
}

const s = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`)

/** Adds the flags to the command. */
export function protocolOptions(cmd: Command): Command {
  const d = DEFAULT_LIMITS
  return cmd
    .addOption(option('--drain-delay <duration>', 'on SIGTERM: /readyz fails at once, listeners stop accepting after this').argParser(duration('--drain-delay')).default(DEFAULT_DRAIN_DELAY, s(DEFAULT_DRAIN_DELAY)))
    .addOption(option('--drain-timeout <duration>', 'on SIGTERM: exit after in-flight requests finish, at most this long after the signal').argParser(duration('--drain-timeout')).default(DEFAULT_DRAIN_TIMEOUT, s(DEFAULT_DRAIN_TIMEOUT)))
    .addOption(option('--max-header-bytes <n>', 'request head size limit (431)').argParser(count('--max-header-bytes', 1024)).default(d.maxHeaderBytes))
    .addOption(option('--max-header-count <n>', 'request header field limit (431)').argParser(count('--max-header-count', 1)).default(d.maxHeaderCount))
    .addOption(option('--headers-timeout <duration>', 'a request head must arrive within this (slowloris; 408)').argParser(duration('--headers-timeout')).default(d.headersTimeout, s(d.headersTimeout)))
    .addOption(option('--idle-timeout <duration>', 'idle keep-alive connections and HTTP/2 sessions close after this').argParser(duration('--idle-timeout')).default(d.idleTimeout, s(d.idleTimeout)))
    .addOption(option('--max-connections <n>', 'open connections per listener; more are closed at accept').argParser(count('--max-connections', 1)).default(d.maxConnections))
    .addOption(option('--max-request-body <bytes>', 'request body limit on every route, 0 for none (413; rules may set a lower one)').argParser(count('--max-request-body', 0)).default(d.maxRequestBodyBytes))
    .addOption(option('--tunnel-idle-timeout <duration>', 'WebSocket/Upgrade tunnels silent this long are closed').argParser(duration('--tunnel-idle-timeout')).default(d.tunnelIdleTimeout, s(d.tunnelIdleTimeout)))
    .addOption(
      option('--app-protocol <protocol>', 'how to speak to --app: http, h2c (a gRPC app) or h2')
        .choices(['http', 'h2c', 'h2'])
        .default('http'),
    )
}

/** The flags as `startNodeAmbassador` options. */
export function protocolSettings(f: ProtocolFlags): { limits: ListenerLimits; drainDelay: number; drainTimeout: number; appProtocol: AppProtocol } {
  if (f.drainDelay > f.drainTimeout) throw new UsageError('--drain-delay must not be longer than --drain-timeout')
  return {
    limits: {
      maxHeaderBytes: f.maxHeaderBytes,
      maxHeaderCount: f.maxHeaderCount,
      headersTimeout: f.headersTimeout,
      idleTimeout: f.idleTimeout,
      maxConnections: f.maxConnections,
      maxRequestBodyBytes: f.maxRequestBody,
      tunnelIdleTimeout: f.tunnelIdleTimeout,
    },
    drainDelay: f.drainDelay,
    drainTimeout: f.drainTimeout,
    appProtocol: f.appProtocol,
  }
}
