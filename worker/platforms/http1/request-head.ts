/**
 * What the socket forwards (platforms/bun, platforms/node) share about the requests they take:
 * which ones, and the head as it is written.
 * @module
 */
import { Buffer } from 'node:buffer'
import type { UpstreamRequest } from '../../platform.ts'

/** Body-less requests of these methods are taken, and may be sent again once on a new connection when a kept-alive one was stale. */
export const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'])

/** A request target with a space or a control character is left to the runtime's own client (which refuses or escapes it). */
export const UNSAFE_TARGET = /[\x00-\x20\x7f]/

const NON_ASCII = /[^\x00-\x7f]/

/** The head as written: the text, or its latin1 bytes when a field value carries non-ASCII (obs-text) characters. */
export const headBytes = (text: string): string | Uint8Array => (NON_ASCII.test(text) ? Buffer.from(text, 'latin1') : text)

// Reused by every head (each is built and read synchronously): one joined string, no chain of
// ~25 concatenations for the socket to flatten.
const PARTS: string[] = []

/** The shared parts list, emptied, with the request line in it; `endHead` makes the text. */
export function startHead(req: UpstreamRequest): string[] {
  const parts = PARTS
  parts.length = 0
  parts.push(req.method, ' ', req.path, ' HTTP/1.1\r\n')
  return parts
}

/** The head's text: the parts and the blank line. */
export function endHead(parts: string[]): string {
  parts.push('\r\n')
  return parts.join('')
}

/** The request head's text from a flat `[name, value, …]` field list: request line, fields, blank line. */
export function headText(req: UpstreamRequest, fields: readonly string[]): string {
  const parts = startHead(req)
  for (let i = 0; i < fields.length; i += 2) parts.push(fields[i]!, ': ', fields[i + 1]!, '\r\n')
  return endHead(parts)
}
