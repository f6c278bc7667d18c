/**
 * Publish-token check in constant time. Both sides are hashed first, so the comparison
 * always runs over 32 bytes whatever the lengths, and the loop has no early exit: the time
 * taken says nothing about how much of a guess was right. Web Crypto only (portable).
 * @module
 */
const encoder = new TextEncoder()

const sha256 = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))

/** Returns a checker for `Authorization: Bearer <token>` against one expected token. */
export function createTokenCheck(expected: string): (authorization: string | undefined) => Promise<boolean> {
  const want = sha256(expected)
  return async (authorization) => {
    const match = /^Bearer[ \t]+(\S.*)$/i.exec(authorization?.trim() ?? '')
    const given = await sha256(match?.[1]?.trim() ?? '')
    const expectedDigest = await want
    let diff = match ? 0 : 1
    for (let i = 0; i < expectedDigest.length; i++) diff |= expectedDigest[i]! ^ given[i]!
    return diff === 0
  }
}
