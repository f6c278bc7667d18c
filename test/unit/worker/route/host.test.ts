import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeHost, splitHostPort } from '../../../../worker/route/host.ts'

test('normalizeHost lowercases and drops the port and a trailing dot', () => {
  const cases: [string, string][] = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['example.com:8080', 'example.com'],
    ['EXAMPLE.com:80', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:443', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'],
    ['127.0.0.1:15001', '127.0.0.1'],
    ['', ''],
  ]
  for (const [raw, want] of cases) assert.equal(normalizeHost(raw), want, raw)
})

test('splitHostPort separates the port, IPv6 included', () => {
  assert.deepEqual(splitHostPort('example.com:8080'), { hostname: 'example.com', port: 8080 })
  assert.deepEqual(splitHostPort('example.com'), { hostname: 'example.com', port: undefined })
  assert.deepEqual(splitHostPort('[::1]:8443'), { hostname: '[::1]', port: 8443 })
  assert.deepEqual(splitHostPort('[::1]'), { hostname: '[::1]', port: undefined })
  assert.deepEqual(splitHostPort('example.com:x'), { hostname: 'example.com', port: undefined })
})
