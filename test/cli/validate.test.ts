/** Issue 3 acceptance 3: `legate validate` reports every mistake with its path; `legate schema`. */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { meshJsonSchema } from '../../protocol/index.ts'
import { EXAMPLE, REFUSAL_RE, legate, tempDir } from './legate.ts'

let dir: string
let cleanup: () => Promise<void>
before(async () => ({ dir, cleanup } = await tempDir()))
after(() => cleanup())

const FIVE_MISTAKES = `
mesh: demo
services:
  - name: api
    endpoints: [http://127.0.0.1:9201]
    loadBalancing: fastest                 # 1: not one of the four policies
  - name: users
    endpoints: [ftp://127.0.0.1:9301]      # 2: not an http(s) origin
routes:
  - name: api
    rules:
      - backendRefs: [{ name: ghost }]     # 3: no such service
        timeouts: { request: 10 seconds }  # 4: not a duration
    colour: blue                           # 5: unknown field
`

test('a config with five mistakes: all five paths, exit 1', async () => {
  const path = join(dir, 'five.yaml')
  await writeFile(path, FIVE_MISTAKES)
  const r = await legate(['validate', path])
  assert.equal(r.code, 1)
  assert.equal(REFUSAL_RE.exec(r.stderr)?.[1], 'invalid_config')
  assert.match(r.stderr, /5 issues/)
  for (const p of ['services[0].loadBalancing', 'services[1].endpoints[0]', 'routes[0].rules[0].backendRefs[0].name', 'routes[0].rules[0].timeouts.request', 'routes[0].colour']) {
    assert.match(r.stderr, new RegExp(`^  ${p.replace(/[[\].]/g, '\\$&')}: `, 'm'), `${p} is reported:\n${r.stderr}`)
  }
})

test('the same five mistakes in JSON are reported the same way', async () => {
  const { parse } = await import('yaml')
  const path = join(dir, 'five.json')
  await writeFile(path, JSON.stringify(parse(FIVE_MISTAKES)))
  const [yaml, json] = await Promise.all([legate(['validate', join(dir, 'five.yaml')]), legate(['validate', path])])
  assert.equal(json.code, 1)
  assert.deepEqual(json.stderr.split('\n').slice(1), yaml.stderr.split('\n').slice(1))
})

test('a valid config: exit 0 and a one-line summary', async () => {
  const r = await legate(['validate', EXAMPLE])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^ok: .* mesh "demo" \(4 services, 2 routes\)\n$/)
})

test('unparseable text is malformed, with its line', async () => {
  const path = join(dir, 'dup.yaml')
  await writeFile(path, 'mesh: demo\nmesh: again\n')
  const r = await legate(['validate', path])
  assert.equal(r.code, 1)
  assert.equal(REFUSAL_RE.exec(r.stderr)?.[1], 'malformed')
  assert.match(r.stderr, /line 2/)
})

test('legate schema prints the generated JSON Schema', async () => {
  const r = await legate(['schema'])
  assert.equal(r.code, 0)
  assert.deepEqual(JSON.parse(r.stdout), meshJsonSchema())
})
