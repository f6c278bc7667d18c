/**
 * One JSON line per request, and the leveled logger the rest of the ambassador writes to.
 * Lines go to a `write` the platform supplies (Node batches them; elsewhere console.log).
 * @module
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent']
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export interface AccessRecord {
  requestId: string
  traceId: string
  direction: string
  method: string
  host: string
  path: string
  route: string
  service: string
  endpoint: string
  status: number
  /** Seconds. */
  duration: number
  /** Response body bytes sent to the client (-1 when unknown). */
  bytes: number
  /** The local-reply code when the ambassador answered itself. */
  reason: string
  /** gRPC calls: the grpc-status of the answer. */
  grpcStatus?: string
}

export interface Logger {
  readonly level: LogLevel
  /** Access lines are written at info. */
  readonly accessEnabled: boolean
  access(record: AccessRecord, time: number): void
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

export function createLogger(level: LogLevel, write: (line: string) => void, now: () => number = Date.now): Logger {
  if (!(level in RANK)) throw new TypeError(`log level must be one of ${LOG_LEVELS.join(', ')}`)
  const min = RANK[level]
  const event = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return
    write(JSON.stringify({ time: new Date(now()).toISOString(), level: lvl, msg, ...fields }))
  }
  return {
    level,
    accessEnabled: RANK.info >= min,
    access(r, time) {
      if (RANK.info < min) return
      // Built by hand: this runs once per request and JSON.stringify of a fresh object costs more.
      write(
        `{"time":"${new Date(time).toISOString()}","type":"access","request_id":${JSON.stringify(r.requestId)},"trace_id":"${r.traceId}",` +
          `"direction":"${r.direction}","method":${JSON.stringify(r.method)},"host":${JSON.stringify(r.host)},"path":${JSON.stringify(r.path)},` +
          `"route":${JSON.stringify(r.route)},"service":${JSON.stringify(r.service)},"endpoint":${JSON.stringify(r.endpoint)},` +
          `"status":${r.status},"duration":${r.duration.toFixed(6)},"bytes":${r.bytes},"reason":${r.reason ? JSON.stringify(r.reason) : 'null'}` +
          (r.grpcStatus !== undefined ? `,"grpc_status":${JSON.stringify(r.grpcStatus)}}` : '}'),
      )
    },
    debug: event('debug'),
    info: event('info'),
    warn: event('warn'),
    error: event('error'),
  }
}
