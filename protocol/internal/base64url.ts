/**
 * base64url to bytes for signed tokens. A config of 10,000 routes is a JWS of megabytes, and
 * an `atob` loop over it takes several milliseconds where the runtime's own decoder
 * (`Uint8Array.fromBase64`, or Buffer in Node and Bun) takes a fraction of one; runtimes
 * with neither get the loop. Callers refuse what is not base64url before decoding: the
 * decoders differ in what they forgive.
 * @internal
 */

type Bytes = Uint8Array<ArrayBuffer>
type FromBase64 = (text: string, options: { alphabet: 'base64url' }) => Bytes
type BufferFrom = { from(text: string, encoding: 'base64url'): Bytes }

const fromBase64 = (Uint8Array as unknown as { fromBase64?: FromBase64 }).fromBase64
const NodeBuffer = (globalThis as { Buffer?: BufferFrom }).Buffer

/** Whether `text` (of base64url characters only) has a length a base64url encoding can have. */
export const isBase64urlLength = (text: string): boolean => text.length % 4 !== 1

export function decodeBase64url(text: string): Bytes {
  if (fromBase64 !== undefined) return fromBase64(text, { alphabet: 'base64url' })
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, 'base64url')
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
