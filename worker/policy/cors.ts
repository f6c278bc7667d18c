/**
 * The Gateway API CORS filter, compiled once per rule. Preflights (OPTIONS with Origin and
 * Access-Control-Request-Method) are answered here and never reach the app; other requests
 * with an allowed Origin get allow-origin, credentials and expose-headers on the way back.
 * A disallowed origin gets no CORS headers at all, which is how a browser learns "no".
 *
 * Origins: exact, `*`, or `scheme://*.domain` matching one or more labels. With
 * `allowCredentials`, a browser ignores a literal `*`, so every wildcard is answered with
 * the caller's own value (origin, method, headers); without it, `*` is answered as `*`.
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'

export type CorsConfig = Extract<RouteFilter, { type: 'CORS' }>['cors']

export interface CompiledCors {
  /** The local answer to a preflight, or undefined when the request is not one. */
  preflight(req: Request): Response | undefined
  /** Adds the CORS response headers for a non-preflight request's response. */
  decorate(requestHeaders: Headers, responseHeaders: Headers): void
}

type OriginTest = (origin: string) => boolean

export function compileCors(cors: CorsConfig): CompiledCors {
  const anyOrigin = cors.allowOrigins.includes('*')
  const tests = cors.allowOrigins.filter((o) => o !== '*').map(compileOrigin)
  const allows = (origin: string) => anyOrigin || tests.some((t) => t(origin))
  const credentials = cors.allowCredentials
  const anyMethod = cors.allowMethods.includes('*')
  const methods = cors.allowMethods.join(', ')
  const anyHeader = cors.allowHeaders.includes('*')
  const allowHeaders = cors.allowHeaders.join(', ')
  const anyExposed = cors.exposeHeaders.includes('*')
  const exposeHeaders = cors.exposeHeaders.join(', ')
  const maxAge = String(cors.maxAge)

  function allowOrigin(headers: Headers, origin: string) {
    headers.set('access-control-allow-origin', anyOrigin && !credentials ? '*' : origin)
    if (!(anyOrigin && !credentials)) headers.append('vary', 'Origin')
    if (credentials) headers.set('access-control-allow-credentials', 'true')
  }

  return {
    preflight(req) {
      if (req.method !== 'OPTIONS') return undefined
      const origin = req.headers.get('origin')
      const requestedMethod = req.headers.get('access-control-request-method')
      if (origin === null || requestedMethod === null) return undefined
      const headers = new Headers()
      if (!allows(origin)) {
        headers.set('vary', 'Origin')
        return new Response(null, { status: 204, headers })
      }
      allowOrigin(headers, origin)
      if (anyMethod) headers.set('access-control-allow-methods', credentials ? requestedMethod : '*')
      else if (methods) headers.set('access-control-allow-methods', methods)
      const requestedHeaders = req.headers.get('access-control-request-headers')
      if (anyHeader) {
        if (credentials) {
          if (requestedHeaders) headers.set('access-control-allow-headers', requestedHeaders)
        } else headers.set('access-control-allow-headers', '*')
      } else if (allowHeaders) headers.set('access-control-allow-headers', allowHeaders)
      if (anyExposed && !credentials) headers.set('access-control-expose-headers', '*')
      else if (exposeHeaders && !anyExposed) headers.set('access-control-expose-headers', exposeHeaders)
      headers.set('access-control-max-age', maxAge)
      return new Response(null, { status: 200, headers })
    },
    decorate(requestHeaders, responseHeaders) {
      const origin = requestHeaders.get('origin')
      if (origin === null) return
      // The app's own CORS answer never stands beside ours: the filter is the policy.
      for (const h of ['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers']) responseHeaders.delete(h)
      if (!allows(origin)) return
      allowOrigin(responseHeaders, origin)
      if (anyExposed) {
        if (!credentials) responseHeaders.set('access-control-expose-headers', '*')
        else {
          const names = [...new Set([...responseHeaders.keys()])].join(', ')
          if (names) responseHeaders.set('access-control-expose-headers', names)
        }
      } else if (exposeHeaders) responseHeaders.set('access-control-expose-headers', exposeHeaders)
    },
  }
}

/** `https://*.example.com` matches one or more labels before `.example.com`, same scheme and port. */
function compileOrigin(pattern: string): OriginTest {
  const lower = pattern.toLowerCase()
  const star = lower.indexOf('://*.')
  if (star === -1) return (origin) => origin.toLowerCase() === lower
  const scheme = lower.slice(0, star + 3)
  const suffix = lower.slice(star + 4) // ".example.com[:port]"
  return (origin) => {
    const o = origin.toLowerCase()
    if (!o.startsWith(scheme) || !o.endsWith(suffix)) return false
    const labels = o.slice(scheme.length, o.length - suffix.length)
    return labels.length > 0 && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(labels)
  }
}
