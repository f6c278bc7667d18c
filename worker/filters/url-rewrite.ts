/**
 * URLRewrite (Gateway API HTTPURLRewriteFilter), compiled once per config: the host and
 * path the request carries upstream. The query string is never touched.
 *
 * @example
 * const rewrite = urlRewrite({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } })
 * rewrite({ host: 'api', path: '/v1/users' }, '/v1') // → { host: 'api', path: '/v2/users' }
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'
import type { RewriteRequest } from '../route/types.ts'
import { modifyPath } from '../route/path-modifier.ts'

export type UrlRewriteConfig = Extract<RouteFilter, { type: 'URLRewrite' }>['urlRewrite']

/**
 * `hostname` replaces the whole Host (any port with it); `path` is ReplaceFullPath or
 * ReplacePrefixMatch, which needs the PathPrefix value that matched (the router's `matchedPrefix`).
 */
export function urlRewrite(config: UrlRewriteConfig): (req: RewriteRequest, matchedPrefix: string | undefined) => RewriteRequest {
  const hostname = config.hostname
  const path = config.path
  return (req, matchedPrefix) => ({
    host: hostname ?? req.host,
    path: path === undefined ? req.path : modifyPath(path, req.path, matchedPrefix),
  })
}
