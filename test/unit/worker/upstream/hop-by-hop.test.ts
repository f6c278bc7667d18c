import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HOP_BY_HOP, isHopByHop } from '../../../../worker/upstream/hop-by-hop.ts'

test('isHopByHop: every listed name, and proxy-* of any length, and nothing else', () => {
  for (const name of HOP_BY_HOP) assert.equal(isHopByHop(name), true, name)
  for (let n = 0; n < 20; n++) assert.equal(isHopByHop(`proxy-${'x'.repeat(n)}`), true, `proxy- + ${n}`)
  for (const name of ['content-length', 'content-type', 'server', 'date', 'tee', 't', 'proxy', 'connectionx', 'keep-alive2', 'trailers', 'upgrades', 'http2-setting', 'transfer-encodin', 'x-upgrade', 'etag', 'vary'])
    assert.equal(isHopByHop(name), false, name)
})
