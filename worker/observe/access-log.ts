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

/** Strings that need no JSON escaping go out as they are (the usual case: ids, hosts, paths). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/
const q = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)

/** ISO 8601 timestamps, the date-and-second part made once per second (this runs per request). */
function createIsoClock(): (ms: number) => string {
  let second = NaN
  let prefix = ''
  return (ms) => {
    const s = Math.floor(ms / 1000)
    if (s !== second) {
      second = s
      prefix = new Date(s * 1000).toISOString().slice(0, 20)
    }
    const milli = ms - s * 1000
    return `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${Math.floor(milli)}Z`
  }
}

export function createLogger(level: LogLevel, write: (line: string) => void, now: () => number = Date.now): Logger {
  if (!(level in RANK)) throw new TypeError(`log level must be one of ${LOG_LEVELS.join(', ')}`)
  const min = RANK[level]
  const iso = createIsoClock()
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
        `{"time":"${iso(time)}","type":"access","request_id":${q(r.requestId)},"trace_id":"${r.traceId}",` +
          `"direction":"${r.direction}","method":${q(r.method)},"host":${q(r.host)},"path":${q(r.path)},` +
          `"route":${q(r.route)},"service":${q(r.service)},"endpoint":${q(r.endpoint)},` +
          `"status":${r.status},"duration":${r.duration.toFixed(6)},"bytes":${r.bytes},"reason":${r.reason ? q(r.reason) : 'null'}` +
          (r.grpcStatus !== undefined ? `,"grpc_status":${q(r.grpcStatus)}}` : '}'),
      )
    },
    debug: event('debug'),
    info: event('info'),
    warn: event('warn'),
    error: event('error'),
  }
}
