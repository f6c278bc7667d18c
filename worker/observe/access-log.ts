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
  /** Changes the level from now on (the admin's `POST /logging`): no restart to see debug lines. */
  setLevel(level: LogLevel): void
  /** Writes the line before it returns and keeps no reference to `record` (callers reuse one). */
  access(record: AccessRecord, time: number): void
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/** Strings that need no JSON escaping go out as they are (the usual case: ids, hosts, paths). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/
const q = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`)
/** A JSON string's contents, without its quotes (the line's fixed pieces carry them). */
const inner = (s: string): string => (NEEDS_ESCAPE.test(s) ? JSON.stringify(s).slice(1, -1) : s)

/**
 * ISO 8601 timestamps, the date-and-second part made once per second and the whole string
 * once per millisecond (this runs per request; at saturation ~15 requests share a millisecond).
 */
function createIsoClock(): (ms: number) => string {
  let second = NaN
  let prefix = ''
  let lastMs = NaN
  let last = ''
  return (ms) => {
    if (ms === lastMs) return last
    const s = Math.floor(ms / 1000)
    if (s !== second) {
      second = s
      prefix = new Date(s * 1000).toISOString().slice(0, 20)
    }
    const milli = ms - s * 1000
    lastMs = ms
    return (last = `${prefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${Math.floor(milli)}Z`)
  }
}

/**
 * The parts of an access line that follow the route rather than the request: from
 * `"direction"` to the path's opening quote, and from its closing quote to the status's key. A run of requests
 * to one route repeats them, so each is made once (joined, so one flat string, not a chain
 * of a dozen concatenations to walk at every write) and reused while its fields stay equal:
 * a line is then built from about half as many pieces.
 */
function createSegments() {
  let direction = ''
  let method = ''
  let host: string | undefined
  let head = ''
  let route: string | undefined
  let service = ''
  let endpoint = ''
  let tail = ''
  return {
    head(r: AccessRecord): string {
      if (r.host !== host || r.method !== method || r.direction !== direction) {
        ;({ direction, method, host } = r)
        head = ['","direction":"', direction, '","method":', q(method), ',"host":', q(host), ',"path":"'].join('')
      }
      return head
    },
    tail(r: AccessRecord): string {
      if (r.route !== route || r.service !== service || r.endpoint !== endpoint) {
        ;({ route, service, endpoint } = r)
        tail = ['","route":', q(route), ',"service":', q(service), ',"endpoint":', q(endpoint), ',"status":'].join('')
      }
      return tail
    },
  }
}

export const isLogLevel = (s: unknown): s is LogLevel => typeof s === 'string' && Object.hasOwn(RANK, s)
const BAD_LEVEL = `log level must be one of ${LOG_LEVELS.join(', ')}`

export function createLogger(level: LogLevel, write: (line: string) => void, now: () => number = Date.now): Logger {
  if (!isLogLevel(level)) throw new TypeError(BAD_LEVEL)
  let min = RANK[level]
  const iso = createIsoClock()
  const segments = createSegments()
  // The line's pieces: the empty ones are filled per request (see `access`).
  // prettier-ignore
  const parts = [
    '{"time":"', '', '","type":"access","request_id":"', '', '","trace_id":"', '',
    '', '', '', '', ',"duration":', '', ',"bytes":', '', ',"reason":', '', '',
  ]
  const event = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return
    write(JSON.stringify({ time: new Date(now()).toISOString(), level: lvl, msg, ...fields }))
  }
  const logger: Logger = {
    level,
    accessEnabled: RANK.info >= min,
    setLevel(next) {
      if (!isLogLevel(next)) throw new TypeError(BAD_LEVEL)
      min = RANK[next]
      // Plain fields, not getters: the chain reads accessEnabled on every request.
      ;(logger as { level: LogLevel }).level = next
      ;(logger as { accessEnabled: boolean }).accessEnabled = RANK.info >= min
    },
    access(r, time) {
      if (RANK.info < min) return
      // Built by hand: this runs once per request and JSON.stringify of a fresh object costs
      // more. The pieces go into one array, reused, and are joined: one flat string per line,
      // where a template made a chain of ~20 concatenations that the writer then had to
      // flatten into a copy (about 500 bytes less garbage per request, same CPU).
      const p = parts
      p[1] = iso(time)
      p[3] = inner(r.requestId)
      p[5] = r.traceId
      p[6] = segments.head(r)
      p[7] = inner(r.path)
      p[8] = segments.tail(r)
      p[9] = String(r.status)
      p[11] = r.duration.toFixed(6)
      p[13] = String(r.bytes)
      p[15] = r.reason ? q(r.reason) : 'null'
      p[16] = r.grpcStatus !== undefined ? `,"grpc_status":${q(r.grpcStatus)}}` : '}'
      write(p.join(''))
    },
    debug: event('debug'),
    info: event('info'),
    warn: event('warn'),
    error: event('error'),
  }
  return logger
}
