// Cases from the Gateway API conformance test HTTPRouteRequestHeaderModifier
// (conformance/tests/httproute-request-header-modifier.go), applied to a Headers object.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { headerModifier, type HeaderModifierConfig } from '../../../../worker/filters/header-modifier.ts'

const entries = (list: [string, string][]) => list.map(([name, value]) => ({ name, value }))
function apply(config: Partial<HeaderModifierConfig>, input: Record<string, string>): Headers {
  const headers = new Headers(input)
  const edit = headerModifier({ set: [], add: [], remove: [], ...config })
  assert.ok(edit)
  edit(headers)
  return headers
}

test('set overwrites or creates a header', () => {
  const config = { set: entries([['X-Header-Set', 'set-overwrites-values']]) }
  assert.equal(apply(config, { 'Some-Other-Header': 'val' }).get('x-header-set'), 'set-overwrites-values')
  const h = apply(config, { 'Some-Other-Header': 'val', 'X-Header-Set': 'some-other-value' })
  assert.equal(h.get('x-header-set'), 'set-overwrites-values')
  assert.equal(h.get('some-other-header'), 'val')
})

test('add appends to an existing value', () => {
  const config = { add: entries([['X-Header-Add', 'add-appends-values']]) }
  assert.equal(apply(config, {}).get('x-header-add'), 'add-appends-values')
  assert.equal(apply(config, { 'X-Header-Add': 'some-other-value' }).get('x-header-add'), 'some-other-value, add-appends-values')
})

test('remove drops a header', () => {
  assert.equal(apply({ remove: ['X-Header-Remove'] }, { 'X-Header-Remove': 'val' }).has('x-header-remove'), false)
})

test('multiple operations at once', () => {
  const h = apply(
    {
      set: entries([['X-Header-Set-1', 'header-set-1'], ['X-Header-Set-2', 'header-set-2']]),
      add: entries([['X-Header-Add-1', 'header-add-1'], ['X-Header-Add-2', 'header-add-2'], ['X-Header-Add-3', 'header-add-3']]),
      remove: ['X-Header-Remove-1', 'X-Header-Remove-2'],
    },
    { 'X-Header-Set-2': 'set-val-2', 'X-Header-Add-2': 'add-val-2', 'X-Header-Remove-2': 'remove-val-2', 'Another-Header': 'another-header-val' },
  )
  assert.deepEqual(Object.fromEntries(h), {
    'another-header': 'another-header-val',
    'x-header-add-1': 'header-add-1',
    'x-header-add-2': 'add-val-2, header-add-2',
    'x-header-add-3': 'header-add-3',
    'x-header-set-1': 'header-set-1',
    'x-header-set-2': 'header-set-2',
  })
})

test('names compare case-insensitively', () => {
  const h = apply(
    { set: entries([['X-Header-Set', 'header-set']]), add: entries([['X-Header-Add', 'header-add']]), remove: ['X-Header-Remove'] },
    { 'x-header-set': 'original-val-set', 'x-header-add': 'original-val-add', 'x-header-remove': 'original-val-remove' },
  )
  assert.equal(h.get('X-HEADER-SET'), 'header-set')
  assert.equal(h.get('x-header-add'), 'original-val-add, header-add')
  assert.equal(h.has('X-Header-Remove'), false)
})

test('remove runs before set and add, as in Envoy', () => {
  const h = apply({ remove: ['x-a', 'x-b'], set: entries([['x-a', 'kept']]), add: entries([['x-b', 'new']]) }, { 'x-a': 'old', 'x-b': 'old' })
  assert.equal(h.get('x-a'), 'kept')
  assert.equal(h.get('x-b'), 'new')
})

test('an empty modifier compiles to nothing', () => {
  assert.equal(headerModifier({ set: [], add: [], remove: [] }), undefined)
})
