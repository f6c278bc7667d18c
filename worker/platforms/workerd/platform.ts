/**
 * The workerd platform: web fetch upstream (small sized answers read whole, as on Bun and Deno), the client address from `cf-connecting-ip`,
 * background work through the request's `waitUntil`. There are no timers between requests
 * on the edge, so `setInterval` refuses quietly only where the core already knows it
 * (active health checks are off on workerd; /__legate/config lists them as disabled).
 * @module
 */
import type { Platform, RequestContext } from '../../platform.ts'
import { createSmallBodyForward } from '../web/small-body-forward.ts'

export function createWorkerdPlatform(): Platform {
  return {
    name: 'workerd',
    forward: createSmallBodyForward(),
    clientAddress: (c: RequestContext) => c.req.raw.headers.get('cf-connecting-ip') ?? '',
    waitUntil(c, work) {
      try {
        c?.executionCtx!.waitUntil(work)
      } catch {
        void work.catch(() => {})
      }
    },
    // A timer set while serving a request runs only as long as that request's isolate work does.
    setInterval: (fn, ms) => {
      const t = setInterval(fn, ms)
      return { cancel: () => clearInterval(t) }
    },
    now: () => Date.now(),
    log: (line) => console.log(line),
  }
}
