import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConfigText } from '../../../protocol/config-text.ts'
import { isLegateError } from '../../../protocol/errors.ts'

function malformed(text: string, pattern?: RegExp) {
  assert.throws(
    () => parseConfigText(text, 'mesh.yaml'),
    (err) => isLegateError(err) && err.code === 'malformed' && err.message.startsWith('mesh.yaml') && (!pattern || pattern.test(err.message)),
  )
}

test('YAML and JSON spellings of one document parse to the same value', () => {
  const yaml = 'mesh: demo\nservices:\n  - name: echo\n    endpoints: [http://127.0.0.1:9001]\n'
  const json = '{"mesh":"demo","services":[{"name":"echo","endpoints":["http://127.0.0.1:9001"]}]}'
  assert.deepEqual(parseConfigText(yaml), parseConfigText(json))
  assert.deepEqual(parseConfigText(json), { mesh: 'demo', services: [{ name: 'echo', endpoints: ['http://127.0.0.1:9001'] }] })
})

test('duplicate keys are refused, in YAML and in JSON, with their line', () => {
  malformed('mesh: a\nmesh: b\n', /line 2/)
  malformed('{"mesh":"a","mesh":"b"}', /line 1/)
  malformed('services:\n  - name: a\n    name: b\n', /line 3/)
})

test('YAML aliases are refused (no "billion laughs" expansion)', () => {
  malformed('a: &x [1, 2]\nb: *x\n', /[Aa]lias/)
  malformed('base: &b { weight: 1 }\nother:\n  <<: *b\n')
})

test('a document that is not a mapping is refused', () => {
  for (const text of ['', '# only a comment', '- a\n- b', '[1]', '"mesh"', '42', 'null']) malformed(text, /mapping/)
})

test('broken syntax names the line and column', () => {
  malformed('mesh: demo\nservices: [\n', /line \d+, column \d+/)
  malformed('mesh: demo\nroutes:\n  - name: a\n   rules: []\n', /line 4/)
  malformed('{"mesh": "demo"', /line 1/)
})

test('a "__proto__" key stays an ordinary field (no prototype change), which the schema then refuses', async () => {
  const { checkMeshConfig } = await import('../../../protocol/validate.ts')
  for (const text of ['{"mesh":"demo","__proto__":{"polluted":1}}', 'mesh: demo\n__proto__: { polluted: 1 }\n']) {
    const value = parseConfigText(text) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(value), Object.prototype)
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.ok(Object.hasOwn(value, '__proto__'))
    assert.deepEqual(checkMeshConfig(value), [{ path: '__proto__', message: 'unknown field "__proto__"' }])
  }
})
