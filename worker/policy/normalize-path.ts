/**
 * The path policies look at: the request path without its query, with percent-encoded
 * unreserved characters decoded and repeated slashes merged (dot segments are already
 * gone: the URL parser resolves them). Without this, `/api//admin` or `/api/%61dmin`
 * would walk past a `notPaths: ["/api/admin*"]` to an app that reads them as one path.
 * @module
 */

const UNRESERVED_ESCAPE = /%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g

export function normalizePath(path: string): string {
  let p = path
  if (p.includes('%')) p = p.replace(UNRESERVED_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
  if (p.includes('//')) p = p.replace(/\/{2,}/g, '/')
  return p
}
