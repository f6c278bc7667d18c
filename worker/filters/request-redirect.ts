/**
 * RequestRedirect (Gateway API HTTPRequestRedirectFilter), compiled once per config: the
 * status and Location the ambassador answers with instead of forwarding.
 *
 * The port follows the Gateway API: a configured port wins; else a configured scheme implies
 * its well-known port; else the port the client used (the one in its Host header) is kept.
 * A port that is the default of the resulting scheme (80 for http, 443 for https) is left out
 * of the Location, as the conformance tests expect. The query string is kept.
 *
 * @example
 * const redirect = requestRedirect({ scheme: 'https', statusCode: 301 })
 * redirect({ scheme: 'http', host: 'example.com', path: '/a', query: 'x=1' }, undefined)
 * // → { status: 301, location: 'https://example.com/a?x=1' }
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'
import type { RedirectRequest, RedirectResult } from '../route/types.ts'
import { modifyPath } from '../route/path-modifier.ts'
import { splitHostPort } from '../route/host.ts'

export type RequestRedirectConfig = Extract<RouteFilter, { type: 'RequestRedirect' }>['requestRedirect']

const DEFAULT_PORT = { http: 80, https: 443 } as const

export function requestRedirect(config: RequestRedirectConfig): (req: RedirectRequest, matchedPrefix: string | undefined) => RedirectResult {
  const status = config.statusCode ?? 302
  return (req, matchedPrefix) => {
    const scheme = config.scheme ?? req.scheme
    const original = splitHostPort(req.host)
    const hostname = config.hostname ?? original.hostname
    let port = config.port ?? (config.scheme === undefined ? original.port : undefined)
    if (port === DEFAULT_PORT[scheme]) port = undefined
    const path = config.path === undefined ? req.path : modifyPath(config.path, req.path, matchedPrefix)
    const location = `${scheme}://${hostname}${port === undefined ? '' : `:${port}`}${path}${req.query === '' ? '' : `?${req.query}`}`
    return { status, location }
  }
}
