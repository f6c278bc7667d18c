/**
 * Reads HTTP/1.1 responses off one upstream connection (RFC 9112): the status line and
 * fields, then the body framed by Content-Length, the chunked coding, or the server's close,
 * handed on as it arrives: small parts copied, larger ones as views of the socket's own chunks.
 *
 * Written by hand because nothing portable fits: the parsers on Bun live inside its fetch
 * (whose HTTP thread is the cost the socket client exists to avoid) and node:http's
 * emulation; llhttp is C or WebAssembly behind undici's own socket layer. This reader is
 * pure (no socket, no runtime globals) so it is tested byte by byte on Node too.
 * @module
 */
import { Buffer } from 'node:buffer'

/** A longer head is refused (Node's default is 16 KiB; Envoy's 60 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024
/** A chunk-size line (with extensions) or one trailer field longer than this is refused. */
const MAX_LINE_BYTES = 8 * 1024

export interface ResponseHead {
  status: number
  statusText: string
  /**
   * The fields as received, names lowercase, values without surrounding whitespace: `[name, value, …]`.
   * Read-only: a repeated head hands on the same array (`ResponseReader`'s `lastHead`).
   */
  readonly fields: readonly string[]
  /** Body bytes announced by Content-Length; -1 when chunked or until close; 0 when there is no body. */
  length: number
  /** The connection may carry another request once this body is read. */
  reusable: boolean
  /** The server's `Keep-Alive: timeout=` in ms, when it sent one. */
  keepAliveMs?: number
}

/** Where one response goes; calls arrive in order: head, body*, end. */
export interface ResponseSink {
  head(head: ResponseHead): void
  body(chunk: Uint8Array): void
  end(): void
}

/** The upstream broke HTTP/1.1: the connection cannot be trusted for anything further. */
export class ResponseSyntaxError extends Error {
  override readonly name = 'ResponseSyntaxError'
}

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

/**
 * Body parts up to this size are handed on as copies, larger ones as views of the read. A read
 * of a few hundred bytes is a typed array that JavaScriptCore (Bun) keeps inside its garbage-
 * collected heap, and a view of it first moves its bytes out into a buffer of their own and
 * makes an ArrayBuffer for them: ~0.4 µs per answer in a CPU profile under load, against ~0.03 µs
 * to copy 100 bytes (bench/analysis.md).
 */
const COPY_BELOW = 1024
const HEAD_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const DIGITS = /^\d{1,15}$/

export class ResponseReader {
  private state = State.Idle
  private sink: ResponseSink | undefined
  private headRequest = false
  /** A partial head, chunk-size line or trailer, kept until the rest arrives. */
  private pending: Buffer | undefined
  private remaining = 0
  private reusable = false
  /** Whether any byte of the current response has arrived (a reused connection that fails before is stale). */
  started = false
  /**
   * The last final head read on this connection, with its bytes. An upstream tends to send
   * the same head byte for byte (an app's answers to one route; nginx's within a second of its
   * Date), so a head that starts the next read with those bytes is taken as is: no search for
   * its end, no text, no parse, and the same `fields` array (a consumer may key a cache on it).
   */
  private lastHead: ParsedHead | undefined

  /** Reads the response to the next request; `headRequest`: it answers a HEAD (no body, whatever the fields say). */
  expect(sink: ResponseSink, headRequest: boolean): void {
    this.sink = sink
    this.headRequest = headRequest
    this.state = State.Head
    this.pending = undefined
    this.started = false
  }

  /** True while a response is expected or being read. */
  get busy(): boolean {
    return this.state !== State.Idle
  }

  /**
   * Feeds the bytes the socket read. Throws `ResponseSyntaxError` on a malformed response or
   * on bytes no request asked for; the connection must then be closed.
   */
  push(input: Buffer): void {
    let buf = input
    if (this.pending) {
      buf = Buffer.concat([this.pending, input])
      this.pending = undefined
    }
    if (buf.length > 0) this.started = true
    let off = 0
    while (off < buf.length) {
      switch (this.state) {
        case State.Idle:
          throw new ResponseSyntaxError(`${buf.length - off} bytes arrived with no request outstanding`)
        case State.Head: {
          const last = this.lastHead
          let head: ParsedHead
          if (last?.bytes !== undefined && startsWith(buf, off, last.bytes)) {
            // The same bytes as this connection's last final head: the same head (see `lastHead`).
            head = last
            off += last.bytes.length
          } else {
            const end = buf.indexOf(HEAD_END, off)
            if (end < 0) {
              if (buf.length - off > MAX_HEAD_BYTES) throw new ResponseSyntaxError(`response head over ${MAX_HEAD_BYTES} bytes`)
              this.pending = buf.subarray(off)
              return
            }
            if (end - off > MAX_HEAD_BYTES) throw new ResponseSyntaxError(`response head over ${MAX_HEAD_BYTES} bytes`)
            head = parseHead(buf.toString('latin1', off, end))
            if (head.status >= 200) {
              // Kept as a copy: the socket's buffer is reused for its next read.
              head.bytes = copied(buf, off, end + 4)
              this.lastHead = head
            }
            off = end + 4
          }
          this.onHead(head, buf.length - off)
          // Answered (a body-less response) or abandoned by the sink: what follows is not read.
          if (!this.sink) return
          break
        }
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - off)
          this.sink!.body(n > COPY_BELOW ? buf.subarray(off, off + n) : copied(buf, off, off + n))
          off += n
          this.remaining -= n
          if (this.remaining === 0) {
            if (this.state === State.Length) return this.finish(buf.length - off)
            this.state = State.ChunkEnd
          }
          break
        }
        case State.ChunkEnd:
          if (buf.length - off < 2) {
            this.pending = buf.subarray(off)
            return
          }
          if (buf[off] !== 13 || buf[off + 1] !== 10) throw new ResponseSyntaxError('chunk data not followed by CRLF')
          off += 2
          this.state = State.ChunkSize
          break
        case State.ChunkSize: {
          const eol = this.line(buf, off)
          if (eol < 0) return
          const size = chunkSize(buf, off, eol)
          off = eol + 2
          if (size === 0) this.state = State.Trailers
          else {
            this.remaining = size
            this.state = State.ChunkData
          }
          break
        }
        case State.Trailers: {
          // Trailer fields are read and dropped: the ambassador does not forward them on HTTP/1.1.
          const eol = this.line(buf, off)
          if (eol < 0) return
          if (eol === off) return this.finish(buf.length - off - 2)
          off = eol + 2
          break
        }
        case State.UntilClose:
          this.sink!.body(off === 0 ? buf : buf.subarray(off))
          return
      }
    }
  }

  /**
   * The server closed its side. Returns true when that ended the response (a body delimited by
   * the close); false when no response was under way. Throws when it cut a response short.
   */
  close(): boolean {
    if (this.state === State.UntilClose) {
      this.finish(0)
      return true
    }
    if (this.state === State.Idle) return false
    this.state = State.Idle
    throw new ResponseSyntaxError(this.started ? 'the upstream closed the connection before the response was complete' : 'the upstream closed the connection before responding')
  }

  /** Gives up on the current response (the caller closes the connection). */
  abandon(): void {
    this.state = State.Idle
    this.sink = undefined
    this.pending = undefined
  }

  /** The index of the next CRLF from `off`, or -1 with the partial line kept for the next bytes. */
  private line(buf: Buffer, off: number): number {
    const eol = buf.indexOf(CRLF, off)
    if (eol >= 0) {
      if (eol - off > MAX_LINE_BYTES) throw new ResponseSyntaxError(`a chunk-size or trailer line over ${MAX_LINE_BYTES} bytes`)
      return eol
    }
    if (buf.length - off > MAX_LINE_BYTES) throw new ResponseSyntaxError(`a chunk-size or trailer line over ${MAX_LINE_BYTES} bytes`)
    this.pending = buf.subarray(off)
    return -1
  }

  private finish(extra: number): void {
    const sink = this.sink!
    this.state = State.Idle
    this.sink = undefined
    // Bytes past the end of the answer were sent for no request: the connection is not reused.
    if (extra > 0) this.reusable = false
    sink.end()
  }

  /** Whether the connection may carry another request (valid once a response has ended). */
  get keepsConnection(): boolean {
    return this.reusable
  }

  /** Frames the body of a parsed head; `extra`: the bytes that follow the head in this read. */
  private onHead(parsed: ParsedHead, extra: number): void {
    const status = parsed.status
    if (status < 200) {
      // 100 Continue, 102, 103 Early Hints: interim, the real answer follows. 101 was never asked for.
      if (status === 101) throw new ResponseSyntaxError('101 Switching Protocols to a request that asked for no upgrade')
      return
    }
    this.reusable = parsed.minor === 1 ? !parsed.close : parsed.keepAlive && !parsed.close
    const head: ResponseHead = { status, statusText: parsed.statusText, fields: parsed.fields, length: 0, reusable: this.reusable, keepAliveMs: parsed.keepAliveMs }
    if (this.headRequest || status === 204 || status === 304) {
      this.sink!.head(head)
      if (this.sink) this.finish(extra)
      return
    }
    const length = parsed.contentLength
    if (parsed.transferEncoding !== undefined) {
      head.length = -1
      // Both framings at once is the classic smuggling shape: chunked wins, the connection is not reused.
      if (length >= 0) this.reusable = head.reusable = false
      if (/(?:^|,)\s*chunked\s*$/i.test(parsed.transferEncoding)) this.state = State.ChunkSize
      else {
        this.state = State.UntilClose
        this.reusable = head.reusable = false
      }
    } else if (length >= 0) {
      head.length = length
      this.remaining = length
      this.state = State.Length
    } else {
      head.length = -1
      this.state = State.UntilClose
      this.reusable = head.reusable = false
    }
    this.sink!.head(head)
    if (head.length === 0 && this.sink) this.finish(extra)
  }
}

/** What a response head says, before the request it answers is taken into account. */
interface ParsedHead {
  status: number
  minor: number
  statusText: string
  fields: readonly string[]
  /** -2 when absent. */
  contentLength: number
  transferEncoding: string | undefined
  close: boolean
  keepAlive: boolean
  keepAliveMs: number | undefined
  /** The head's bytes (CRLF CRLF included), kept for a final head (see `ResponseReader`'s `lastHead`). */
  bytes: Buffer | undefined
}

/** A head's text (without its final CRLF CRLF), checked and read. */
function parseHead(text: string): ParsedHead {
  // Read by index, not split: no array of lines and no string per line (the head runs per answer).
  if (text.indexOf('\0') >= 0) throw new ResponseSyntaxError('a bare CR, LF or NUL in the response head')
  let eol = lineEnd(text, 0)
  const { status, minor, statusText } = statusLine(text.slice(0, eol))
  const fields: string[] = []
  let length = -2
  let transferEncoding: string | undefined
  let close = false
  let keepAlive = false
  let keepAliveMs: number | undefined
  while (eol < text.length) {
    const start = eol + 2
    eol = lineEnd(text, start)
    const first = text.charCodeAt(start)
    if (first === 32 || first === 9) throw new ResponseSyntaxError('obsolete line folding in the response head')
    const colon = text.indexOf(':', start)
    if (colon <= start || colon > eol) throw new ResponseSyntaxError(`a response field without a name: ${JSON.stringify(text.slice(start, Math.min(eol, start + 60)))}`)
    const name = lowerName(text.slice(start, colon))
    const value = owsTrimmed(text, colon + 1, eol)
    switch (name) {
      case 'content-length': {
        // A list of one repeated value is allowed (RFC 9110 §8.6); differing values are smuggling.
        const n = DIGITS.test(value) ? Number(value) : sameLength(value)
        if (length >= 0 && n !== length) throw new ResponseSyntaxError('differing Content-Length values')
        length = n
        break
      }
      case 'transfer-encoding':
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`
        break
      case 'connection': {
        const v = value.length === 10 || value.length === 5 ? value.toLowerCase() : undefined
        if (v === 'keep-alive') keepAlive = true
        else if (v === 'close') close = true
        else
          for (const part of value.split(',')) {
            const token = part.trim().toLowerCase()
            if (token === 'close') close = true
            else if (token === 'keep-alive') keepAlive = true
          }
        break
      }
      case 'keep-alive': {
        const t = /(?:^|[,;\s])timeout=(\d+)/i.exec(value)
        if (t) keepAliveMs = Number(t[1]) * 1000
        break
      }
    }
    fields.push(name, value)
  }
  return { status, minor, statusText, fields, contentLength: length, transferEncoding, close, keepAlive, keepAliveMs, bytes: undefined }
}

/** `HTTP/1.x NNN reason`, read by position: it runs once per response. */
function statusLine(line: string): { status: number; minor: number; statusText: string } {
  const minor = line.charCodeAt(7) - 48
  const ok = line.length >= 12 && line.startsWith('HTTP/1.') && (minor === 0 || minor === 1) && line.charCodeAt(8) === 32 && (line.length === 12 || line.charCodeAt(12) === 32)
  const status = ok ? digit(line, 9) * 100 + digit(line, 10) * 10 + digit(line, 11) : NaN
  if (!(status >= 0)) throw new ResponseSyntaxError(`not an HTTP/1.x status line: ${JSON.stringify(line.slice(0, 60))}`)
  if (status < 100) throw new ResponseSyntaxError(`status ${status} is not a status code`)
  return { status, minor, statusText: line.length > 13 ? line.slice(13) : '' }
}

const digit = (s: string, i: number) => {
  const d = s.charCodeAt(i) - 48
  return d >= 0 && d <= 9 ? d : NaN
}

/**
 * The lowercase form of a field name, checked to be a token. Servers send the same few
 * names on every answer, so they are remembered (at most 512): a lookup instead of a
 * validation and a lowercase copy per field.
 */
const knownNames = new Map<string, string>()
function lowerName(raw: string): string {
  const known = knownNames.get(raw)
  if (known !== undefined) return known
  if (!TOKEN.test(raw)) throw new ResponseSyntaxError(`a response field name that is not a token: ${JSON.stringify(raw.slice(0, 60))}`)
  const lower = raw.toLowerCase()
  if (knownNames.size < 512) knownNames.set(raw, lower)
  return lower
}

/** A Content-Length list (`42, 42`): its one value, or a refusal. */
function sameLength(value: string): number {
  let length = -1
  for (const part of value.split(',')) {
    const v = part.trim()
    if (!DIGITS.test(v)) throw new ResponseSyntaxError(`an invalid Content-Length: ${JSON.stringify(value.slice(0, 40))}`)
    if (length >= 0 && Number(v) !== length) throw new ResponseSyntaxError('differing Content-Length values')
    length = Number(v)
  }
  return length
}

/** `text[a, b)` without leading and trailing SP and HTAB (RFC 9110 §5.6.3), unlike String#trim. */
function owsTrimmed(text: string, a: number, b: number): string {
  while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++
  while (b > a && (text.charCodeAt(b - 1) === 32 || text.charCodeAt(b - 1) === 9)) b--
  return text.slice(a, b)
}

/**
 * Where the line from `start` ends (its CRLF, or the end of the head). A CR or LF that is not
 * part of a CRLF is refused: bare ones are request smuggling's tools.
 */
function lineEnd(text: string, start: number): number {
  let eol = text.indexOf('\r\n', start)
  if (eol < 0) eol = text.length
  const cr = text.indexOf('\r', start)
  const lf = text.indexOf('\n', start)
  if ((cr >= 0 && cr < eol) || (lf >= 0 && lf < eol + 1)) throw new ResponseSyntaxError('a bare CR, LF or NUL in the response head')
  return eol
}

/** Whether `buf` holds `bytes` from `off` on. */
const startsWith = (buf: Buffer, off: number, bytes: Buffer) => buf.length - off >= bytes.length && buf.compare(bytes, 0, bytes.length, off, off + bytes.length) === 0

/** `buf[from, to)` as bytes of their own. */
function copied(buf: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from)
  buf.copy(out, 0, from, to)
  return out
}

/** The hex size of a chunk-size line `[off, eol)`, extensions ignored. */
function chunkSize(buf: Buffer, off: number, eol: number): number {
  let size = 0
  let i = off
  for (; i < eol; i++) {
    const c = buf[i]!
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
    if (digit < 0) break
    if (i - off >= 12) throw new ResponseSyntaxError('a chunk size over 2^48 bytes')
    size = size * 16 + digit
  }
  if (i === off) throw new ResponseSyntaxError('a chunk-size line without a size')
  // What may follow the size: whitespace, then `;` and extensions.
  while (i < eol && (buf[i] === 32 || buf[i] === 9)) i++
  if (i < eol && buf[i] !== 59) throw new ResponseSyntaxError('a chunk-size line that is not hex')
  return size
}
