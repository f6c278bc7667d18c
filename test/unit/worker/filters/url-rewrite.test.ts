import { test } from 'node:test'
import assert from 'node:assert/strict'
import { urlRewrite } from '../../../../worker/filters/url-rewrite.ts'

test('ReplacePrefixMatch follows the Gateway API table (trailing slashes ignored, no "//")', () => {
  // [matched prefix, replacement, request path, expected]: the table in the Gateway API's
  // HTTPPathModifier documentation, plus the root cases.
  const cases: [string, string, string, string][] = [
    ['/foo', '/xyz', '/foo/bar', '/xyz/bar'],
    ['/foo/', '/xyz', '/foo/bar', '/xyz/bar'],
    ['/foo', '/xyz/', '/foo/bar', '/xyz/bar'],
    ['/foo/', '/xyz/', '/foo/bar', '/xyz/bar'],
    ['/foo', '/xyz', '/foo', '/xyz'],
    ['/foo', '/xyz', '/foo/', '/xyz/'],
    ['/foo', '/xyz/', '/foo/', '/xyz/'],
    ['/foo', '/', '/foo/bar', '/bar'],
    ['/foo/', '/', '/foo/bar', '/bar'],
    ['/foo', '/', '/foo', '/'],
    ['/foo', '/', '/foo/', '/'],
    ['/', '/xyz', '/bar', '/xyz/bar'],
    ['/', '/', '/bar', '/bar'],
  ]
  for (const [prefix, replacement, path, want] of cases) {
    const rewrite = urlRewrite({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: replacement } })
    assert.equal(rewrite({ host: 'h', path }, prefix).path, want, `${prefix} → ${replacement} on ${path}`)
  }
})

test('ReplaceFullPath replaces the whole path; hostname replaces the host', () => {
  const rewrite = urlRewrite({ hostname: 'one.example.org', path: { type: 'ReplaceFullPath', replaceFullPath: '/one' } })
  assert.deepEqual(rewrite({ host: 'rewrite.example:8080', path: '/full/one/two' }, '/full/one'), { host: 'one.example.org', path: '/one' })
})

test('without a path modifier the path is kept; without a matched prefix ReplacePrefixMatch keeps it too', () => {
  assert.deepEqual(urlRewrite({ hostname: 'x.example' })({ host: 'a', path: '/p' }, undefined), { host: 'x.example', path: '/p' })
  const prefixOnly = urlRewrite({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } })
  assert.deepEqual(prefixOnly({ host: 'a', path: '/v1/x' }, undefined), { host: 'a', path: '/v1/x' })
})
