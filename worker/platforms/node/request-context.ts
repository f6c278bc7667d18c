/**
 * Routed HTTP/1.1 requests on Node go to the core without @hono/node-server in between: the
 * core reads a request's URL, method, bindings and a few headers, and needs a web `Request`
 * only on rare paths (buffering a body for retries, CORS preflights, a client abort while
 * waiting). So the context here holds the Node request and response, builds the `Request`
 * the first time something asks for it, and writes back only the core's own small answers
 * (local replies, redirects, preflights): forwarded responses are written by the platform
 * forward itself (`RESPONSE_ALREADY_SENT`). The adapter's per-request closures, async frame
 * and response bookkeeping measured about 2 KB of garbage per request.
 * @module
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { ContextHandler, RequestContext } from '../../platform.ts'

/** What the core's Node forwards read from `c.env`, as @hono/node-server's bindings. */
export interface NodeBindings {
  incoming: IncomingMessage
  outgoing: ServerResponse
  /** The listener's request body limit, when it has one (see protocol-forward.ts). */
  maxBodyBytes?: number
}

// A Host that needs no normalization: lowercase name, optional port (0-65535).
const PLAIN_HOST = /^[a-z0-9._-]+(?::(?:[1-5]?\d{1,4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?$/
// An origin-form target that a URL parser would keep as it is: no dot segments, no
// characters it would escape or reinterpret.
const PLAIN_TARGET = /^\/[!$&-;=?-[\]_a-z~]*$/
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/
const ABSOLUTE = /^https?:\/\//i

export class BadRequest extends Error {}

/** A backslash in the path (before any query) is a path separator to some servers and not to others: refused. */
function refuseBackslash(target: string) {
  const backslash = target.indexOf('\\')
  if (backslash >= 0) {
    const query = target.indexOf('?')
    if (query < 0 || backslash < query) throw new BadRequest('backslash in the request path')
  }
}

/**
 * The request's absolute URL as the core reads it. The usual request (a plain Host and a
 * plain path) is taken as it is; anything else goes through the WHATWG URL parser, so dot
 * segments are resolved (`/a/../admin` routes as `/admin`) and a Host that is not a host is
 * refused, as in the other runtimes. Absolute-form targets (HTTP proxy mode) are parsed.
 */
export function requestUrl(incoming: IncomingMessage): string {
  const target = incoming.url ?? ''
  if (target[0] !== '/') {
    if (!ABSOLUTE.test(target)) throw new BadRequest('the request target is neither a path nor an absolute http URL')
    refuseBackslash(target)
    try {
      return new URL(target).href
    } catch {
      throw new BadRequest('the absolute request target is not a URL')
    }
  }
  const host = incoming.headers.host
  if (!host) throw new BadRequest('no Host header')
  const url = `http://${host}${target}`
  if (PLAIN_HOST.test(host) && PLAIN_TARGET.test(target) && !DOT_SEGMENT.test(target)) return url
  refuseBackslash(target)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new BadRequest('the Host header or the request target is not valid')
  }
  // `Host: a.example/evil` or `Host: x@y` would parse as another host, path or user.
  const hostname = host.replace(/:\d*$/, '').toLowerCase()
  if (parsed.hostname !== hostname || parsed.username || parsed.password) throw new BadRequest('the Host header is not a host')
  return parsed.href
}

/** The request view the core reads: URL and method now, the web `Request` only when asked. */
class NodeRequestView {
  private request: Request | undefined
  constructor(
    readonly url: string,
    readonly method: string,
    private readonly env: NodeBindings,
  ) {}

  get raw(): Request {
    return (this.request ??= webRequest(this.url, this.method, this.env))
  }
}

function webRequest(url: string, method: string, { incoming, outgoing }: NodeBindings): Request {
  const headers = new Headers()
  const raw = incoming.rawHeaders
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  // The client leaving before the answer is complete aborts whatever waits on this request.
  const abort = new AbortController()
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) abort.abort(new Error('client closed the connection'))
  })
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: abort.signal }
  if (method !== 'GET' && method !== 'HEAD') {
    init.body = lazyBody(incoming)
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/**
 * The request body as a web stream that starts reading the Node request only when it is
 * read: a `Request` made for its signal alone must not take the body from the forward,
 * which streams `incoming` itself.
 */
function lazyBody(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        reader ??= (Readable.toWeb(incoming) as ReadableStream<Uint8Array>).getReader()
        const { done, value } = await reader.read()
        if (done) controller.close()
        else controller.enqueue(value)
      },
      cancel(reason) {
        return reader?.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}

class NodeContext implements RequestContext {
  readonly req: NodeRequestView
  constructor(
    url: string,
    method: string,
    readonly env: NodeBindings,
  ) {
    this.req = new NodeRequestView(url, method, env)
  }
}

/**
 * Writes one of the core's own answers. On Node every response that is not already written
 * by the forward is a small local reply, redirect or preflight, so it is read whole and sent
 * with its length.
 */
async function writeAnswer(response: Response, outgoing: ServerResponse): Promise<void> {
  if (outgoing.headersSent || outgoing.destroyed) return
  try {
    const headers: OutgoingHttpHeaders = {}
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers[name] = value
    })
    const cookies = response.headers.getSetCookie()
    if (cookies.length > 0) headers['set-cookie'] = cookies
    const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined
    if (outgoing.headersSent || outgoing.destroyed) return
    headers['content-length'] = body?.length ?? 0
    outgoing.writeHead(response.status, headers)
    outgoing.end(body)
  } catch {
    outgoing.destroy()
  }
}

/**
 * Serves one HTTP/1.1 request, whose URL is `requestUrl(incoming)`, with `handle`. With
 * `failed`, `handle` is the core's handler without a rejection handler of its own
 * (`Ambassador.unguarded`): what it throws or rejects with is answered here, in the one
 * continuation every request has anyway.
 */
export function serveContext(handle: ContextHandler, url: string, incoming: IncomingMessage, outgoing: ServerResponse, env: NodeBindings, failed?: (err: unknown) => Response): void {
  let answer: Promise<Response>
  try {
    answer = handle(new NodeContext(url, incoming.method ?? 'GET', env))
  } catch (err) {
    answer = Promise.reject(err)
  }
  answer.then(
    (response) => (response === RESPONSE_ALREADY_SENT ? undefined : writeAnswer(response, outgoing)),
    failed ? (err: unknown) => writeAnswer(failed(err), outgoing) : () => void outgoing.destroy(),
  )
}
