import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { BadRequest, requestUrl } from '../../../worker/platforms/node/request-context.ts'

const req = (url: string, host?: string) => ({ url, headers: host === undefined ? {} : { host } }) as unknown as IncomingMessage

test('requestUrl: plain requests are taken as they are', () => {
  assert.equal(requestUrl(req('/a/b?x=1&y=%2F', 'echo')), 'http://echo/a/b?x=1&y=%2F')
  assert.equal(requestUrl(req('/', 'echo:8080')), 'http://echo:8080/')
})

test('requestUrl: what a URL parser would change goes through it (dot segments resolved, host lowercased, unsafe bytes escaped)', () => {
  for (const [target, host, want] of [
    ['/a/../admin', 'echo', 'http://echo/admin'],
    ['/a/./b/..', 'echo', 'http://echo/a/'],
    ['/%2e%2e/x', 'echo', 'http://echo/x'],
    ['/x', 'Echo.Example', 'http://echo.example/x'],
    ['/a b', 'echo', 'http://echo/a%20b'],
    ['/x', '[::1]:8080', 'http://[::1]:8080/x'],
  ] as const) {
    // The same answer as the WHATWG parser, which the other runtimes use.
    assert.equal(requestUrl(req(target, host)), want, `${host} ${target}`)
    assert.equal(requestUrl(req(target, host)), new URL(`http://${host}${target}`).href)
  }
})

test('requestUrl: absolute-form targets (HTTP proxy mode) are parsed', () => {
  assert.equal(requestUrl(req('http://echo/a/../b', 'ignored')), 'http://echo/b')
  assert.equal(requestUrl(req('HTTPS://Echo:443/x')), 'https://echo/x')
})

test('requestUrl: refuses what is not a request for a host', () => {
  for (const [target, host] of [
    ['/x', undefined],
    ['/x', ''],
    ['/a\\b', 'echo'],
    ['http://echo/a\\..\\admin', undefined],
    ['*', 'echo'],
    ['ftp://echo/x', 'echo'],
    ['/x', 'a.example/evil'],
    ['/x', 'user@a.example'],
    ['/x', 'a b'],
    ['/x', 'a.example:99999'],
  ] as const) {
    assert.throws(() => requestUrl(req(target, host)), BadRequest, `${JSON.stringify(host)} ${target}`)
  }
  // A backslash in the query is data, not a path separator.
  assert.equal(requestUrl(req('/x?a=\\b', 'echo')), new URL('http://echo/x?a=\\b').href)
})
