/** The digest of a signed config: `sha256:<hex>` of the compact JWS bytes (CONTRACT §2). @module */

const encoder = new TextEncoder()

export async function configDigest(jws: string): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(jws)))
  let hex = ''
  for (const byte of hash) hex += byte.toString(16).padStart(2, '0')
  return `sha256:${hex}`
}
