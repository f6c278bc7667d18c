/**
 * The HTTP/1.1 response reader of Bun's socket forward (worker/platforms/http1/
 * response-reader.ts), byte by byte: framings (Content-Length, chunked, until close, none),
 * interim responses, connection reuse, and every malformed shape refused with its reason.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { ResponseReader, ResponseSyntaxError, MAX_HEAD_BYTES, type ResponseHead } from '../../../worker/platforms/http1/response-reader.ts'

interface Read {
  heads: ResponseHead[]
  body: Buffer
  ended: number
}

function reader(headRequest = false): { r: ResponseReader; got: Read } {
  const got: Read = { heads: [], body: Buffer.alloc(0), ended: 0 }
  const r = new ResponseReader()
  r.expect({ head: (h) => got.heads.push(h), body: (c) => (got.body = Buffer.concat([got.body, c])), end: () => got.ended++ }, headRequest)
  return { r, got }
}

/** Feeds `text` whole, and again one byte at a time: both must read the same. */
function readBoth(text: string, headRequest = false): Read[] {
  const whole = reader(headRequest)
  whole.r.push(Buffer.from(text, 'latin1'))
  const bytes = reader(headRequest)
  for (const b of Buffer.from(text, 'latin1')) bytes.r.push(Buffer.from([b]))
  assert.deepEqual(bytes.got, whole.got)
  return [whole.got]
}

const refused = (text: string, reason: RegExp) => {
  const { r } = reader()
  assert.throws(() => r.push(Buffer.from(text, 'latin1')), (err: Error) => err instanceof ResponseSyntaxError && reason.test(err.message))
}

test('a Content-Length answer: fields in order, names lowercase, values trimmed; the connection is kept', () => {
  const [got] = readBoth('HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello')
  assert.equal(got!.ended, 1)
  assert.equal(got!.body.toString(), 'hello')
  const h = got!.heads[0]!
  assert.equal(h.status, 200)
  assert.equal(h.statusText, 'OK')
  assert.equal(h.length, 5)
  assert.equal(h.reusable, true)
  assert.deepEqual(h.fields, ['content-type', 'text/plain', 'content-length', '5', 'x-a', '1', 'x-a', '2'])
})

test('a large body part is handed on as a view of the chunk it came in (no copy), a small one as a copy of its own', () => {
  const parts = (body: string) => {
    const input = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    const seen: Uint8Array[] = []
    const { r } = reader()
    r.expect({ head: () => {}, body: (c) => seen.push(c), end: () => {} }, false)
    r.push(input)
    assert.equal(Buffer.concat(seen).toString(), body)
    return { input, seen }
  }
  // A view sees the chunk change under it; a copy does not.
  const large = parts('x'.repeat(4096))
  large.input.fill(0x79)
  assert.equal(Buffer.from(large.seen[0]!).toString(), 'y'.repeat(4096))
  const small = parts('abc')
  small.input.fill(0x79)
  assert.equal(Buffer.from(small.seen[0]!).toString(), 'abc')
})

test('chunked: sizes in any case, extensions ignored, trailers read and dropped, split anywhere', () => {
  const [got] = readBoth('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n')
  assert.equal(got!.body.toString(), 'hello0123456789')
  assert.equal(got!.heads[0]!.length, -1)
  assert.equal(got!.heads[0]!.reusable, true)
  assert.equal(got!.ended, 1)
})

test('no framing: the body runs until the server closes, and the connection is not reused', () => {
  const { r, got } = reader()
  r.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\npart one '))
  r.push(Buffer.from('part two'))
  assert.equal(got.ended, 0)
  assert.equal(r.close(), true)
  assert.equal(got.ended, 1)
  assert.equal(got.body.toString(), 'part one part two')
  assert.equal(got.heads[0]!.reusable, false)
})

test('no body: a HEAD answer whatever its Content-Length, 204, 304, and Content-Length: 0', () => {
  const [head] = readBoth('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', true)
  assert.equal(head!.ended, 1)
  assert.equal(head!.body.length, 0)
  for (const status of ['204 No Content', '304 Not Modified']) {
    const [got] = readBoth(`HTTP/1.1 ${status}\r\nContent-Length: 10\r\n\r\n`)
    assert.equal(got!.ended, 1, status)
    assert.equal(got!.heads[0]!.length, 0)
  }
  const [empty] = readBoth('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
  assert.equal(empty!.ended, 1)
})

test('interim answers (100, 103) are skipped; the final answer is read', () => {
  const [got] = readBoth('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok')
  assert.equal(got!.heads.length, 1)
  assert.equal(got!.heads[0]!.status, 201)
  assert.equal(got!.body.toString(), 'ok')
})

test('reuse: Connection: close, HTTP/1.0 without keep-alive, both framings, and bytes past the end each end the connection', () => {
  const reusable = (text: string) => {
    const { r, got } = reader()
    r.push(Buffer.from(text))
    assert.equal(got.ended, 1, text)
    return r.keepsConnection
  }
  assert.equal(reusable('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), true)
  assert.equal(reusable('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n'), false)
  assert.equal(reusable('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false)
  assert.equal(reusable('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n'), true)
  assert.equal(reusable('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'), false)
  assert.equal(reusable('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA'), false)
  assert.equal(reusable('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n\r\n'), false)
})

test('Keep-Alive: timeout= is read in ms; a Content-Length list of one value is accepted', () => {
  const [got] = readBoth('HTTP/1.1 200 OK\r\nKeep-Alive: max=100, timeout=5\r\nContent-Length: 2, 2\r\n\r\nok')
  assert.equal(got!.heads[0]!.keepAliveMs, 5000)
  assert.equal(got!.body.toString(), 'ok')
})

test('the reader serves one response after another on the same connection', () => {
  const { r, got } = reader()
  r.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na'))
  assert.equal(r.busy, false)
  r.expect({ head: (h) => got.heads.push(h), body: (c) => (got.body = Buffer.concat([got.body, c])), end: () => got.ended++ }, false)
  assert.equal(r.started, false)
  r.push(Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nb'))
  assert.deepEqual(got.heads.map((h) => h.status), [200, 404])
  assert.equal(got.body.toString(), 'ab')
})

test('malformed answers are refused with a specific reason', () => {
  refused('HTTP/2 200 OK\r\n\r\n', /not an HTTP\/1\.x status line/)
  refused('HTTP/1.1 20 OK\r\n\r\n', /not an HTTP\/1\.x status line/)
  refused('ICY 200 OK\r\n\r\n', /not an HTTP\/1\.x status line/)
  refused('HTTP/1.1 099 Low\r\n\r\n', /not a status code/)
  refused('HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n', /obsolete line folding/)
  refused('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /without a name/)
  refused('HTTP/1.1 200 OK\r\nbad name: 1\r\n\r\n', /not a token/)
  refused('HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n', /invalid Content-Length/)
  refused('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /invalid Content-Length/)
  refused('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /differing Content-Length/)
  refused('HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\r\n', /bare CR, LF or NUL/)
  refused('HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n', /bare CR, LF or NUL/)
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /without a size/)
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n', /not hex/)
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY', /not followed by CRLF/)
  refused('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n', /over 2\^48/)
  refused('HTTP/1.1 101 Switching Protocols\r\n\r\n', /101 Switching Protocols/)
  refused(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`, /head over/)
  refused(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(9000)}`, /line over/)
})

test('bytes with no request outstanding are refused', () => {
  const r = new ResponseReader()
  assert.throws(() => r.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')), /no request outstanding/)
})

test('a close: ends an unframed body; cuts a framed one short (an error); is nothing between responses', () => {
  const idle = new ResponseReader()
  assert.equal(idle.close(), false)
  const { r: waiting } = reader()
  assert.throws(() => waiting.close(), /before responding/)
  const { r: mid } = reader()
  mid.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'))
  assert.throws(() => mid.close(), /before the response was complete/)
  const { r: chunked } = reader()
  chunked.push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'))
  assert.throws(() => chunked.close(), /before the response was complete/)
})

test('a sink that gives up in its head callback stops the reader (nothing more is delivered)', () => {
  const r = new ResponseReader()
  let bodies = 0
  r.expect({ head: () => r.abandon(), body: () => bodies++, end: () => assert.fail('no end after abandon') }, false)
  r.push(Buffer.from('HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy'))
  assert.equal(bodies, 0)
  assert.equal(r.busy, false)
})

/** One reader over several exchanges of a kept-alive connection, as the pool uses it. */
function exchanges(r: ResponseReader, answers: Array<{ bytes: string | string[]; headRequest?: boolean }>): Read[] {
  return answers.map(({ bytes, headRequest = false }) => {
    const got: Read = { heads: [], body: Buffer.alloc(0), ended: 0 }
    r.expect({ head: (h) => got.heads.push(h), body: (c) => (got.body = Buffer.concat([got.body, c])), end: () => got.ended++ }, headRequest)
    for (const part of [bytes].flat()) r.push(Buffer.from(part, 'latin1'))
    return got
  })
}

test('a head repeated byte for byte on a connection is the same head (same fields array); one byte different is read anew', () => {
  const head = (length: number, date: string) => `HTTP/1.1 200 OK\r\nServer: up\r\nDate: ${date}\r\nContent-Length: ${length}\r\n\r\n`
  const r = new ResponseReader()
  const [a, b, c, d] = exchanges(r, [
    { bytes: head(5, 'Thu, 26 Nov 2026 20:00:00 GMT') + 'hello' },
    { bytes: head(5, 'Thu, 26 Nov 2026 20:00:00 GMT') + 'world' },
    // Same length, one digit different: Content-Length 6, read as such.
    { bytes: head(6, 'Thu, 26 Nov 2026 20:00:00 GMT') + 'abcdef' },
    { bytes: head(6, 'Thu, 26 Nov 2026 20:00:01 GMT') + 'ghijkl' },
  ])
  assert.equal(a!.heads[0]!.fields, b!.heads[0]!.fields)
  assert.equal(b!.body.toString(), 'world')
  assert.notEqual(c!.heads[0]!.fields, b!.heads[0]!.fields)
  assert.equal(c!.heads[0]!.length, 6)
  assert.equal(c!.body.toString(), 'abcdef')
  assert.deepEqual(d!.heads[0]!.fields, ['server', 'up', 'date', 'Thu, 26 Nov 2026 20:00:01 GMT', 'content-length', '6'])
  assert.equal(d!.body.toString(), 'ghijkl')
  for (const x of [a, b, c, d]) assert.equal(x!.ended, 1)
})

test('a repeated head is framed for its own request: no body for HEAD, and split across reads it is still read whole', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n'
  const r = new ResponseReader()
  const [get, headOnly, split] = exchanges(r, [{ bytes: head + 'abc' }, { bytes: head, headRequest: true }, { bytes: [head.slice(0, 10), head.slice(10) + 'a', 'bc'] }])
  assert.equal(get!.body.toString(), 'abc')
  assert.equal(headOnly!.heads[0]!.length, 0)
  assert.equal(headOnly!.body.length, 0)
  assert.equal(headOnly!.ended, 1)
  assert.equal(split!.heads[0]!.fields, get!.heads[0]!.fields)
  assert.equal(split!.body.toString(), 'abc')
})

test('an interim answer is not remembered as a head: the final one that follows is read in full', () => {
  const r = new ResponseReader()
  const [first, second] = exchanges(r, [
    { bytes: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx' },
    { bytes: 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny' },
  ])
  assert.deepEqual(first!.heads.map((h) => h.status), [200])
  assert.deepEqual(second!.heads.map((h) => h.status), [200])
  assert.equal(second!.body.toString(), 'y')
})
