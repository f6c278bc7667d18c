/**
 * Reads a request body as text with a hard byte cap enforced while streaming: an oversized
 * or endless upload is cut off at the cap, never buffered whole.
 * @module
 */
import { LegateError } from '../protocol/errors.ts'

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * `slack` extra bytes are let through (not named in the message) for framing that the
 * caller trims, such as a trailing newline after a JWS.
 */
export async function readCappedText(request: Request, maxBytes: number, what = 'body', slack = 0): Promise<string> {
  const cap = maxBytes + slack
  const declared = request.headers.get('content-length')
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > cap) {
    throw new LegateError('too_large', `${what} is ${declared} bytes, over the ${maxBytes}-byte limit`)
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > cap) {
        await reader.cancel().catch(() => {})
        throw new LegateError('too_large', `${what} is over the ${maxBytes}-byte limit`)
      }
      chunks.push(value)
    }
  } finally {
    reader.releaseLock()
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  try {
    return decoder.decode(bytes)
  } catch {
    throw new LegateError('malformed', `${what} is not UTF-8`)
  }
}
