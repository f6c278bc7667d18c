/**
 * Reads one query parameter from a raw search string without building a URLSearchParams:
 * route matching asks for a handful of names per request, and parsing the whole query into
 * a map each time would cost more than the match itself.
 * @module
 */

function decode(text: string): string {
  if (text.indexOf('%') < 0 && text.indexOf('+') < 0) return text
  const spaced = text.replace(/\+/g, ' ')
  try {
    return decodeURIComponent(spaced)
  } catch {
    // A malformed escape is kept as written, as URLSearchParams does for the bad sequence.
    return spaced
  }
}

/**
 * The first value of `name` in `query` (without the leading `?`), decoded as
 * application/x-www-form-urlencoded; undefined when absent. Names compare case-sensitively,
 * as the Gateway API requires. `?a` (no `=`) has the value "".
 */
export function queryParam(query: string, name: string): string | undefined {
  let start = 0
  const length = query.length
  while (start <= length) {
    let end = query.indexOf('&', start)
    if (end < 0) end = length
    if (end > start) {
      let eq = query.indexOf('=', start)
      if (eq < 0 || eq > end) eq = end
      const keyLength = eq - start
      // Fast path: the raw key equals the name; otherwise decode only keys that carry escapes.
      if ((keyLength === name.length && query.startsWith(name, start)) || (hasEscape(query, start, eq) && decode(query.slice(start, eq)) === name)) {
        return eq === end ? '' : decode(query.slice(eq + 1, end))
      }
    }
    start = end + 1
  }
  return undefined
}

function hasEscape(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c === 37 /* % */ || c === 43 /* + */) return true
  }
  return false
}
