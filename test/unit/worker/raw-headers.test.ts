import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawHeaderReader } from '../../../worker/platforms/node/raw-headers.ts'

test('RawHeaderReader reads as Headers.get does: any case, repeated fields joined, null when absent', () => {
  const raw = ['Host', 'a.example', 'X-Forwarded-For', '10.0.0.1', 'accept', 'text/html', 'x-forwarded-for', '10.0.0.2', 'X-EMPTY', '']
  const reader = new RawHeaderReader(raw)
  const web = new Headers()
  for (let i = 0; i < raw.length; i += 2) web.append(raw[i]!, raw[i + 1]!)
  for (const name of ['host', 'x-forwarded-for', 'accept', 'x-empty', 'x-missing', 'x-forwarded-fo']) assert.equal(reader.get(name), web.get(name), name)
  assert.equal(reader.get('x-forwarded-for'), '10.0.0.1, 10.0.0.2')
})
