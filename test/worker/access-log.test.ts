/** The access-log line: valid JSON whatever the request carried, and exact timestamps. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createLogger, type AccessRecord } from '../../worker/observe/access-log.ts'

const record = (over: Partial<AccessRecord> = {}): AccessRecord => ({
  requestId: 'r1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', direction: 'outbound', method: 'GET', host: 'api', path: '/v1',
  route: 'api', service: 'api', endpoint: 'http://127.0.0.1:9201', status: 200, duration: 0.0012345, bytes: 100, reason: '', ...over,
})

test('every line parses, with hostile characters in the fields that come from the client', () => {
  const lines: string[] = []
  const log = createLogger('info', (l) => lines.push(l))
  const nasty = ['"quoted"', 'back\\slash', 'new\nline', 'tab\there', '\u0000nul', 'sep\u2028arator', 'lone\ud800surrogate', 'emoji 😀', '</script>']
  for (const s of nasty) log.access(record({ path: `/${s}`, host: s, requestId: s, method: s }), Date.now())
  assert.equal(lines.length, nasty.length)
  lines.forEach((line, i) => {
    assert.ok(!line.includes('\n'), 'one line per request')
    const j = JSON.parse(line)
    assert.equal(j.host, nasty[i])
    assert.equal(j.path, `/${nasty[i]}`)
    assert.equal(j.type, 'access')
  })
})

test('timestamps are exact ISO 8601 to the millisecond, across second boundaries', () => {
  const lines: string[] = []
  const log = createLogger('info', (l) => lines.push(l))
  const times = [Date.UTC(2026, 10, 26, 10, 0, 0, 5), Date.UTC(2026, 10, 26, 10, 0, 0, 50), Date.UTC(2026, 10, 26, 10, 0, 0, 999), Date.UTC(2026, 10, 26, 10, 0, 1, 0), Date.UTC(2027, 0, 1, 0, 0, 0, 123)]
  for (const t of times) log.access(record(), t)
  assert.deepEqual(lines.map((l) => JSON.parse(l).time), times.map((t) => new Date(t).toISOString()))
})

test('the level decides: info writes access lines, warn does not', () => {
  const lines: string[] = []
  createLogger('warn', (l) => lines.push(l)).access(record(), Date.now())
  assert.equal(lines.length, 0)
  assert.equal(createLogger('info', () => {}).accessEnabled, true)
  assert.throws(() => createLogger('loud' as never, () => {}), TypeError)
})

test('setLevel: lines and access lines follow the new level at once; a bad level changes nothing', () => {
  const lines: string[] = []
  const logger = createLogger('warn', (l) => lines.push(l))
  logger.info('not yet')
  logger.setLevel('debug')
  assert.deepEqual([logger.level, logger.accessEnabled], ['debug', true])
  logger.debug('now')
  logger.access(record(), Date.now())
  assert.equal(lines.length, 2)
  assert.equal(JSON.parse(lines[0]!).msg, 'now')
  assert.equal(JSON.parse(lines[1]!).type, 'access')
  assert.throws(() => logger.setLevel('toString' as never), TypeError)
  assert.equal(logger.level, 'debug')
  logger.setLevel('silent')
  logger.error('gone')
  logger.access(record(), Date.now())
  assert.deepEqual([lines.length, logger.accessEnabled], [2, false])
})

test('lines of alternating routes and hosts each carry their own fields (the reused parts follow them)', () => {
  const lines: string[] = []
  const log = createLogger('info', (l) => lines.push(l))
  const a = record()
  const b = record({ direction: 'inbound', method: 'POST', host: 'b"x', route: 'r2', service: 's2', endpoint: 'http://127.0.0.1:9301' })
  const c = record({ endpoint: 'http://127.0.0.1:9202' })
  const sent = [a, a, b, a, c, c, b, { ...a, grpcStatus: '14', reason: 'upstream_timeout' }]
  for (const r of sent) log.access(r, Date.UTC(2026, 10, 26, 10, 0, 0, 7))
  lines.forEach((line, i) => {
    const j = JSON.parse(line)
    const r = sent[i]!
    assert.deepEqual(
      [j.direction, j.method, j.host, j.path, j.route, j.service, j.endpoint, j.status, j.bytes, j.reason, j.grpc_status, j.time],
      [r.direction, r.method, r.host, r.path, r.route, r.service, r.endpoint, r.status, r.bytes, r.reason || null, r.grpcStatus, '2026-11-26T10:00:00.007Z'],
    )
  })
})
