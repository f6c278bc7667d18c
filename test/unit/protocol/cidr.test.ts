import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cidrContains, parseCidr, parseIp } from '../../../protocol/cidr.ts'

const ip = (text: string) => {
  const a = parseIp(text)
  assert.ok(a, `${text} should parse`)
  return a
}
const inBlock = (block: string, addr: string) => {
  const c = parseCidr(block)
  assert.ok(c, `${block} should parse`)
  return cidrContains(c, ip(addr))
}

test('IPv4 addresses', () => {
  assert.deepEqual(parseIp('10.0.0.1'), { family: 4, value: 0x0a000001n })
  assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffffn })
  for (const bad of ['10.0.0', '10.0.0.1.2', '256.0.0.1', '01.2.3.4', '1.2.3.-4', '1..2.3', 'a.b.c.d', '', '10.0.0.1 ']) assert.equal(parseIp(bad), undefined, bad)
})

test('IPv6 addresses: compressed, full, bracketed, zoned', () => {
  assert.deepEqual(parseIp('::1'), { family: 6, value: 1n })
  assert.deepEqual(parseIp('::'), { family: 6, value: 0n })
  assert.deepEqual(parseIp('2001:db8::1'), parseIp('2001:0db8:0000:0000:0000:0000:0000:0001'))
  assert.deepEqual(parseIp('[::1]'), parseIp('::1'))
  assert.deepEqual(parseIp('fe80::1%eth0'), parseIp('fe80::1'))
  assert.equal(ip('2001:DB8::A').value, ip('2001:db8::a').value)
  for (const bad of [':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '::1::', '[::1', '1:2:3:4:5:6:7::8:9']) assert.equal(parseIp(bad), undefined, bad)
})

test('IPv4-mapped IPv6 addresses become IPv4', () => {
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { family: 4, value: 0x0a000001n })
  assert.deepEqual(parseIp('::ffff:a00:1'), { family: 4, value: 0x0a000001n })
  assert.equal(parseIp('::ffff:10.0.0.256'), undefined)
  // IPv4-compatible (not mapped) stays IPv6.
  assert.equal(ip('::10.0.0.1').family, 6)
})

test('CIDR membership, IPv4', () => {
  assert.equal(inBlock('10.0.0.0/8', '10.255.1.2'), true)
  assert.equal(inBlock('10.0.0.0/8', '11.0.0.1'), false)
  assert.equal(inBlock('10.1.2.3/8', '10.9.9.9'), true, 'host bits are cleared')
  assert.equal(inBlock('0.0.0.0/0', '203.0.113.9'), true)
  assert.equal(inBlock('192.168.1.7', '192.168.1.7'), true, 'a bare address is a /32')
  assert.equal(inBlock('192.168.1.7', '192.168.1.8'), false)
  assert.equal(inBlock('10.0.0.0/8', '::ffff:10.1.1.1'), true, 'a mapped client address matches an IPv4 block')
})

test('CIDR membership, IPv6, and families never mix', () => {
  assert.equal(inBlock('2001:db8::/32', '2001:db8:ffff::1'), true)
  assert.equal(inBlock('2001:db8::/32', '2001:db9::1'), false)
  assert.equal(inBlock('::1/128', '::1'), true)
  assert.equal(inBlock('::/0', '2001:db8::1'), true)
  assert.equal(inBlock('::/0', '10.0.0.1'), false)
  assert.equal(inBlock('0.0.0.0/0', '::1'), false)
})

test('IPv4-mapped blocks take an IPv6 prefix length', () => {
  assert.equal(inBlock('::ffff:10.0.0.0/104', '10.2.3.4'), true)
  assert.equal(inBlock('::ffff:10.0.0.0/104', '11.2.3.4'), false)
  assert.equal(inBlock('::ffff:10.0.0.1/128', '10.0.0.1'), true)
  assert.equal(parseCidr('::ffff:10.0.0.0/95'), undefined, 'a prefix shorter than the mapped range')
})

test('bad CIDR blocks', () => {
  for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '/8', 'example.com/8', '10.0.0.0/a', '']) {
    assert.equal(parseCidr(bad), undefined, bad)
  }
})
