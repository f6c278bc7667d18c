/**
 * docs/config.md stays a reference of every field: each property name the JSON Schema of
 * the config has (generated from protocol/schema.ts) must appear in it as `name`.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { meshJsonSchema } from '../../../protocol/index.ts'

function propertyNames(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) propertyNames(item, out)
  else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && value && typeof value === 'object') for (const name of Object.keys(value)) out.add(name)
      propertyNames(value, out)
    }
  }
  return out
}

test('docs/config.md names every field of the config schema', () => {
  const doc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8')
  const names = [...propertyNames(meshJsonSchema())]
  assert.ok(names.length > 80, `only ${names.length} field names found: the walk is broken`)
  const missing = names.filter((n) => !doc.includes(`\`${n}\``))
  assert.deepEqual(missing, [], `fields missing from docs/config.md: ${missing.join(', ')}`)
})
