/**
 * Graceful drain on Node, as Kubernetes and systemd expect of a sidecar: on SIGTERM (or
 * SIGINT) `/readyz` answers 503 at once so the endpoint leaves load balancers; after
 * `delay` the listeners stop accepting and every connection is asked to finish (HTTP/1.1
 * `Connection: close`, HTTP/2 GOAWAY, tunnels run to their end); once none is left, or
 * `timeout` after the signal, whatever remains is closed and the process exits 0. A second
 * signal exits at once (status 1).
 * @module
 *
 * @example
 * const drain = createDrain({ delay: 5_000, timeout: 25_000, logger })
 * admin fetch: drain.gate(app.fetch);  on SIGTERM: await drain.run([outbound, inbound])
 */
import type { Logger } from '../../observe/access-log.ts'
import type { FetchHandler, Listener } from './listener.ts'

export interface DrainOptions {
  /** ms between failing /readyz and no longer accepting connections (default 5 s). */
  delay?: number
  /** ms from the signal until whatever is left is closed (default 25 s). */
  timeout?: number
  logger?: Logger
}

export interface Drain {
  readonly draining: boolean
  /** Wraps the admin fetch: /readyz says 503 `{ready: false, reason: "draining"}` once draining. */
  gate(fetch: FetchHandler): FetchHandler
  /** Drains the listeners; true when everything finished before the timeout. */
  run(listeners: readonly Listener[]): Promise<boolean>
}

export const DEFAULT_DRAIN_DELAY = 5_000
export const DEFAULT_DRAIN_TIMEOUT = 25_000

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)))

export function createDrain(options: DrainOptions = {}): Drain {
  const delay = options.delay ?? DEFAULT_DRAIN_DELAY
  const timeout = Math.max(options.timeout ?? DEFAULT_DRAIN_TIMEOUT, delay)
  let draining = false
  let running: Promise<boolean> | undefined
  return {
    get draining() {
      return draining
    },
    gate(fetch) {
      return (request, env) => {
        if (draining && new URL(request.url).pathname === '/readyz') {
          return new Response(JSON.stringify({ ready: false, reason: 'draining' }), { status: 503, headers: { 'content-type': 'application/json' } })
        }
        return fetch(request, env)
      }
    },
    run(listeners) {
      running ??= (async () => {
        draining = true
        const deadline = Date.now() + timeout
        options.logger?.info('draining: /readyz now fails', { delayMs: delay, timeoutMs: timeout })
        await sleep(delay)
        options.logger?.info('draining: listeners stop accepting', { connections: listeners.reduce((n, l) => n + l.connections, 0) })
        let timer: ReturnType<typeof setTimeout> | undefined
        const finished = await Promise.race([
          Promise.all(listeners.map((l) => l.drain())).then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now())))),
        ])
        clearTimeout(timer)
        if (finished) options.logger?.info('drained: no connection left')
        else options.logger?.warn('drain timeout: closing connections still open', { connections: listeners.reduce((n, l) => n + l.connections, 0) })
        return finished
      })()
      return running
    },
  }
}

/**
 * Installs the signal handlers of a long-running ambassador: the first SIGTERM/SIGINT
 * drains then closes and exits 0; a second one exits 1 at once.
 */
export function onStopSignals(stop: () => Promise<void>, exit: (code: number) => void = (code) => process.exit(code)) {
  let stopping = false
  const handler = () => {
    if (stopping) return exit(1)
    stopping = true
    void stop().then(
      () => exit(0),
      () => exit(1),
    )
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}
