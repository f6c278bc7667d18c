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
const validate = new Ajv({ allErrors: true, strict: false }).compile(committed)
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
