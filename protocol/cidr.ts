/**
 * IPv4 and IPv6 addresses and CIDR blocks, parsed into bigints so that one comparison
 * decides membership. Hand-written: no portable (web-standards) library covers both
 * families without Node's `net` module.
 * @module
 */

export interface Cidr {
  family: 4 | 6
  /** Network address with host bits cleared. */
  network: bigint
  /** Mask covering the prefix bits. */
  mask: bigint
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0n
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = (value << 8n) | BigInt(n)
  }
  return value
}

function parseIPv6(text: string): bigint | undefined {
  if (text.length > 45 || text.length < 2) return undefined
  let head = text
  let tail4: bigint | undefined
  // An embedded IPv4 tail (::ffff:10.0.0.1) stands for the last two groups.
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    tail4 = parseIPv4(text.slice(lastColon + 1))
    if (tail4 === undefined) return undefined
    head = text.slice(0, lastColon + 1) + '0:0'
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const split = (s: string) => (s === '' ? [] : s.split(':'))
  const left = split(halves[0]!)
  const right = halves.length === 2 ? split(halves[1]!) : []
  const missing = 8 - left.length - right.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  const groups = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right]
  let value = 0n
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined
    value = (value << 16n) | BigInt(parseInt(g, 16))
  }
  if (tail4 !== undefined) value = (value & ~0xffffffffn) | tail4
  return value
}

export interface IpAddress {
  family: 4 | 6
  value: bigint
}

/** Parses an IPv4 or IPv6 address (IPv4-mapped IPv6 addresses become IPv4). */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseIPv4(text)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const v6 = parseIPv6(bare.split('%')[0]!)
  if (v6 === undefined) return undefined
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn }
  return { family: 6, value: v6 }
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const addr = parseIp(slash === -1 ? text : text.slice(0, slash))
  if (!addr) return undefined
  const bits = addr.family === 4 ? 32 : 128
  // An IPv4-mapped block (::ffff:10.0.0.0/104) is written with an IPv6 prefix length but
  // parsed as IPv4: drop the 96 mapped bits. A shorter prefix would reach past the mapped range.
  const mapped = addr.family === 4 && text.includes(':')
  let prefix = bits
  if (slash !== -1) {
    const p = text.slice(slash + 1)
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined
    prefix = Number(p) - (mapped ? 96 : 0)
    if (prefix < 0 || prefix > bits) return undefined
  }
  const all = (1n << BigInt(bits)) - 1n
  const mask = all ^ ((1n << BigInt(bits - prefix)) - 1n)
  return { family: addr.family, network: addr.value & mask, mask }
}

export const cidrContains = (cidr: Cidr, ip: IpAddress): boolean =>
  cidr.family === ip.family && (ip.value & cidr.mask) === cidr.network
