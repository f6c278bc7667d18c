/**
 * Host header normalization for routing: lower case, no `:port`, no trailing dot.
 * Runs on every request, so the common case (already lower case, no port) returns the
 * input string itself without allocating.
 * @module
 */

/** `Example.COM:8080` → `example.com`; `[::1]:8080` → `[::1]`; `example.com.` → `example.com`. */
export function normalizeHost(raw: string): string {
  let end = raw.length
  let upper = false
  if (raw.charCodeAt(0) === 91 /* [ */) {
    // IPv6 literal: the port, if any, follows the closing bracket.
    const close = raw.indexOf(']')
    if (close > 0) end = close + 1
  } else {
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i)
      if (c === 58 /* : */) {
        end = i
        break
      }
      if (c >= 65 && c <= 90) upper = true
    }
  }
  if (end > 1 && raw.charCodeAt(end - 1) === 46 /* . */) end--
  const host = end === raw.length ? raw : raw.slice(0, end)
  return upper || host.charCodeAt(0) === 91 ? host.toLowerCase() : host
}

/** Splits a Host header into its name and port (undefined when absent or not a number). */
export function splitHostPort(raw: string): { hostname: string; port: number | undefined } {
  let colon = -1
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']')
    if (close > 0 && raw.charCodeAt(close + 1) === 58) colon = close + 1
  } else {
    colon = raw.lastIndexOf(':')
  }
  if (colon < 0) return { hostname: raw, port: undefined }
  const port = Number(raw.slice(colon + 1))
  return { hostname: raw.slice(0, colon), port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined }
}
