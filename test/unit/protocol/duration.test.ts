import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatDuration, isDuration, parseDuration } from '../../../protocol/duration.ts'

test('parses the Gateway API forms to milliseconds', () => {
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('2s'), 2_000)
  assert.equal(parseDuration('1m'), 60_000)
  assert.equal(parseDuration('1h30m'), 5_400_000)
  assert.equal(parseDuration('1h1m1s1ms'), 3_661_001)
  assert.equal(parseDuration('0s'), 0)
  assert.equal(parseDuration('99999ms'), 99_999)
})

test('refuses what GEP-2257 refuses', () => {
  for (const bad of ['', '1', 's', '1.5s', '-1s', '1d', '1 s', ' 1s', '1s ', '100000s', '1h1m1s1ms1h', '1S', '1us', '1e3ms', '+1s']) {
    assert.equal(parseDuration(bad), undefined, bad)
    assert.equal(isDuration(bad), false, bad)
  }
})

test('formats the shortest form, and formatting round-trips through parsing', () => {
  assert.equal(formatDuration(0), '0s')
  assert.equal(formatDuration(1_500), '1s500ms')
  assert.equal(formatDuration(5_400_000), '1h30m')
  assert.equal(formatDuration(25), '25ms')
  for (const ms of [1, 999, 1_000, 61_001, 3_600_000, 90_061_001]) assert.equal(parseDuration(formatDuration(ms)), ms)
})
