/**
 * The committed schema/mesh.schema.json: fresh (regenerate with `npm run schema:gen`), and
 * usable by an independent validator (ajv, draft-07) the way editors use it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { meshJsonSchema } from '../../../protocol/index.ts'
import { exampleConfig } from '../../helpers/keys.ts'

const committed = JSON.parse(readFileSync(new URL('../../../schema/mesh.schema.json', import.meta.url), 'utf8'))

test('schema/mesh.schema.json equals the one generated from the zod schema (run `npm run schema:gen`)', () => {
  assert.deepEqual(committed, meshJsonSchema())
})

test('it is a draft-07 schema', () => {
  assert.equal(committed.$schema, 'http://json-schema.org/draft-07/schema#')
})

// strict: false because zod writes non-standard `format` names ("starts_with") beside its
// `pattern`; editors ignore unknown formats too, so this is how the schema is really used.
const validate = new Ajv({ allErrors: true, strict: false, formats: { starts_with: true } }).compile(committed)
const errorsOf = (doc: unknown) => (validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`))

test('ajv accepts examples/mesh.yaml', () => {
  assert.deepEqual(errorsOf(exampleConfig()), [])
})

test('ajv rejects an unknown field', () => {
  const doc = exampleConfig() as { services: Array<Record<string, unknown>> }
  doc.services[1]!.loadBalancer = 'random'
  const errors = errorsOf(doc)
  assert.ok(errors.some((e) => e.startsWith('/services/1 ') && e.includes('loadBalancer')), errors.join('\n'))
})

test('ajv rejects a wrong type, a bad enum value and a missing required field', () => {
  assert.ok(errorsOf({ mesh: 'demo', services: 'echo' }).some((e) => e.startsWith('/services ')))
  assert.ok(errorsOf({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://a'], loadBalancing: 'fastest' }] }).some((e) => e.startsWith('/services/0/loadBalancing ')))
  assert.ok(errorsOf({ services: [] }).some((e) => e.includes('mesh')))
  assert.ok(errorsOf({ mesh: 'Not A Name' }).some((e) => e.startsWith('/mesh ')))
})

test('ajv flags what an editor should: a bad duration, a non-http endpoint, a bad hostname', () => {
  const withRoute = (route: Record<string, unknown>) => ({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://a'] }], routes: [{ name: 'a', rules: [{ backendRefs: [{ name: 'a' }] }], ...route }] })
  const timeouts = (request: string) => withRoute({ rules: [{ backendRefs: [{ name: 'a' }], timeouts: { request } }] })
  assert.deepEqual(errorsOf(timeouts('1h30m')), [])
  assert.ok(errorsOf(timeouts('10 seconds')).some((e) => e.startsWith('/routes/0/rules/0/timeouts/request ')))
  const endpoint = (url: unknown) => ({ mesh: 'demo', services: [{ name: 'a', endpoints: [url] }] })
  for (const good of ['http://127.0.0.1:9001', 'HTTPS://Example.COM:443/', 'http://[::1]:9000']) assert.deepEqual(errorsOf(endpoint(good)), [], good)
  for (const bad of ['javascript:alert(1)', 'ftp://a', 'http://a/path', 'http://user@a']) {
    assert.ok(errorsOf(endpoint(bad)).length > 0, bad)
    assert.ok(errorsOf(endpoint({ url: bad })).length > 0, `{url: ${bad}}`)
  }
  assert.deepEqual(errorsOf(withRoute({ hostnames: ['API.Demo', '*.example.com'] })), [])
  assert.ok(errorsOf(withRoute({ hostnames: ['a_b'] })).some((e) => e.startsWith('/routes/0/hostnames/0 ')))
})
