/**
 * Subscribes to the control API (CONTRACT §4): long-polls
 * `GET /v1/meshes/{mesh}/config?wait=N` with `If-None-Match: "<ver>"`, hands every 200 to
 * the holder (which verifies it: the control is not trusted for integrity), and on errors
 * backs off exponentially with full jitter so a fleet does not stampede a recovering control.
 * @module
 */
import { LegateError } from '../../protocol/errors.ts'
import { DEFAULT_MAX_CONFIG_BYTES } from '../../protocol/envelope/claims.ts'
import type { ConfigHolder } from './holder.ts'
import type { Logger } from '../observe/access-log.ts'

export interface ControlSourceOptions {
  /** The control's base URL, e.g. `http://127.0.0.1:8787`. */
  url: string
  mesh: string
  holder: ConfigHolder
  logger: Logger
  /** Long-poll seconds asked of the control (default 30). */
  waitSeconds?: number
  /** Backoff bounds in ms (default 250 ms .. 30 s). */
  minBackoff?: number
  maxBackoff?: number
  maxBytes?: number
  fetch?: typeof fetch
  /** Randomness for jitter (tests). */
  random?: () => number
}

export interface ConfigSource {
  start(): void
  stop(): void
}

/** Reads a body up to `max` bytes, refusing more before it is all buffered. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'))
  if (declared > max + 2) {
    await res.body?.cancel()
    throw new LegateError('too_large', `the control sent a ${declared}-byte config, over the ${max}-byte limit`)
  }
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > max + 2) {
      await reader.cancel()
      throw new LegateError('too_large', `the control sent a config over the ${max}-byte limit`)
    }
    chunks.push(value)
  }
  const all = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    all.set(c, at)
    at += c.byteLength
  }
  return new TextDecoder().decode(all).trim()
}

export function createControlSource(options: ControlSourceOptions): ConfigSource {
  const { mesh, holder, logger } = options
  const base = options.url.replace(/\/+$/, '')
  const wait = options.waitSeconds ?? 30
  const minBackoff = options.minBackoff ?? 250
  const maxBackoff = options.maxBackoff ?? 30_000
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES
  const doFetch = options.fetch ?? fetch
  const random = options.random ?? Math.random
  let stopped = true
  let abort: AbortController | undefined
  let failures = 0
  let sleeping: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      sleeping = { timer: setTimeout(resolve, ms), resolve }
    }).finally(() => (sleeping = undefined))

  /** Full jitter: uniform in [0, min(max, base·2^n)], never below a floor that keeps a tight loop out. */
  const backoff = () => Math.max(minBackoff / 2, random() * Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures, 20)))

  async function pollOnce(): Promise<void> {
    const ver = holder.current?.verified.ver
    const headers: Record<string, string> = { accept: 'application/jwt' }
    if (ver !== undefined) headers['if-none-match'] = `"${ver}"`
    abort = new AbortController()
    const started = Date.now()
    // The control answers within `wait` seconds; a little more before we call it hung.
    const timer = setTimeout(() => abort?.abort(new LegateError('unreachable', `control did not answer within ${wait + 10}s`)), (wait + 10) * 1000)
    try {
      const res = await doFetch(`${base}/v1/meshes/${encodeURIComponent(mesh)}/config?wait=${wait}`, { headers, signal: abort.signal })
      if (res.status === 304) {
        await res.body?.cancel()
        holder.noteSourceOk()
        failures = 0
        // A control that does not hold long-polls answers 304 at once: do not spin on it.
        if (Date.now() - started < 1000) await sleep(minBackoff)
        return
      }
      if (res.status === 404) {
        await res.body?.cancel()
        throw new LegateError('not_found', `the control has no config for mesh "${mesh}" yet`)
      }
      if (res.status !== 200) {
        await res.body?.cancel()
        throw new LegateError('unreachable', `the control answered ${res.status}`)
      }
      const jws = await readCapped(res, maxBytes)
      holder.noteSourceOk()
      const result = await holder.offer(jws, 'control')
      // A refused config is not the control being down, but polling again at once would
      // fetch the same refused config in a loop: back off as for an error.
      if (result === 'rejected') failures++
      else failures = 0
      if (result === 'rejected') await sleep(backoff())
      // The same config again (a control that ignores If-None-Match): pause as for a 304.
      else if (result === 'unchanged') await sleep(minBackoff)
    } finally {
      clearTimeout(timer)
      abort = undefined
    }
  }

  async function loop() {
    while (!stopped) {
      try {
        await pollOnce()
      } catch (err) {
        if (stopped) return
        failures++
        holder.noteSourceError(err instanceof LegateError ? err : new LegateError('unreachable', `control ${base}: ${(err as Error)?.message ?? String(err)}`, { cause: err }))
        const ms = backoff()
        logger.debug('control poll failed', { error: (err as Error)?.message ?? String(err), retryInMs: Math.round(ms) })
        await sleep(ms)
      }
    }
  }

  return {
    start() {
      if (!stopped) return
      stopped = false
      void loop()
    },
    stop() {
      stopped = true
      abort?.abort(new LegateError('unreachable', 'stopped'))
      if (sleeping) {
        clearTimeout(sleeping.timer)
        sleeping.resolve()
      }
    },
  }
}
