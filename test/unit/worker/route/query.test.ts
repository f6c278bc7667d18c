import { test } from 'node:test'
import assert from 'node:assert/strict'
import { queryParam } from '../../../../worker/route/query.ts'

test('queryParam returns the first value of a name, decoded like URLSearchParams', () => {
  const cases: [string, string, string | undefined][] = [
    ['a=1&b=2', 'b', '2'],
    ['a=1&a=2', 'a', '1'],
    ['ab=1&a=2', 'a', '2'],
    ['a', 'a', ''],
    ['a=', 'a', ''],
    ['&&a=x&', 'a', 'x'],
    ['a=hello+world%21', 'a', 'hello world!'],
    ['my%20key=v', 'my key', 'v'],
    ['A=1', 'a', undefined],
    ['', 'a', undefined],
    ['a=%E0%A4%A', 'a', '%E0%A4%A'],
  ]
  for (const [query, name, want] of cases) {
    assert.equal(queryParam(query, name), want, `${query} ${name}`)
    if (!want?.includes('%')) assert.equal(new URLSearchParams(query).get(name) ?? undefined, want, `URLSearchParams agrees on ${query}`)
  }
})
