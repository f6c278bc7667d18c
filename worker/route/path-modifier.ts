/**
 * The Gateway API path modifiers shared by URLRewrite and RequestRedirect.
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'

type UrlRewriteConfig = Extract<RouteFilter, { type: 'URLRewrite' }>['urlRewrite']
export type PathModifier = NonNullable<UrlRewriteConfig['path']>

/** `/foo/`, `/foo` → `/foo`; `/` → `` (so the root joins without producing `//`). */
function trimSlashes(path: string): string {
  let end = path.length
  while (end > 0 && path.charCodeAt(end - 1) === 47) end--
  return end === path.length ? path : path.slice(0, end)
}

/**
 * ReplacePrefixMatch as the Gateway API defines it: the matched prefix is replaced on a
 * segment boundary, trailing slashes of both values are ignored, and a `/` replacement
 * never produces `//`: with prefix `/foo`, replacement `/bar` turns `/foo/x` into `/bar/x`
 * and `/foo` into `/bar`; replacement `/` turns `/foo/x` into `/x` and `/foo` into `/`.
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  const matched = trimSlashes(prefix)
  // The router only hands over prefixes that matched; a mismatch means a misuse, keep the path.
  if (!path.startsWith(matched)) return path
  const out = trimSlashes(replacement) + path.slice(matched.length)
  return out === '' ? '/' : out
}

/** Applies a path modifier; ReplacePrefixMatch without a matched prefix leaves the path as is. */
export function modifyPath(modifier: PathModifier, path: string, matchedPrefix: string | undefined): string {
  if (modifier.type === 'ReplaceFullPath') return modifier.replaceFullPath
  return matchedPrefix === undefined ? path : replacePrefix(path, matchedPrefix, modifier.replacePrefixMatch)
}
