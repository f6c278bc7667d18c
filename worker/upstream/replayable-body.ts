/**
 * Makes a request body replayable for retries and mirroring when it is small: up to
 * 64 KiB is read into memory before the first try; a larger (or unannounced and longer)
 * body streams through once, and that request is not retried. Buffering more would let a
 * flood of large uploads fill the ambassador's memory; buffering nothing would make every
 * POST unretryable.
 * @module
 */

export const MAX_REPLAY_BYTES = 64 * 1024

export type PreparedBody =
  /** No body, or all of it in memory: can be sent any number of times. */
  | { replayable: true; bytes: Uint8Array | null }
  /** Too large to keep: one send only (the bytes already read come first). */
  | { replayable: false; stream: ReadableStream<Uint8Array> }

/**
 * A body of unknown length (chunked, or HTTP/2 such as gRPC) is buffered only while its
 * chunks keep coming: a stream that pauses this long is a streaming call (a gRPC client
 * or bidirectional stream waiting for an answer), and holding it back would deadlock it.
 */
export const BODY_PAUSE_MS = 20

const PAUSED = Symbol('paused')

export async function prepareBody(request: Request, limit = MAX_REPLAY_BYTES, pauseMs = BODY_PAUSE_MS): Promise<PreparedBody> {
  const body = request.body
  if (body === null) return { replayable: true, bytes: null }
  const length = request.headers.get('content-length')
  const declared = Number(length ?? NaN)
  if (declared > limit) return { replayable: false, stream: body }

  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const next = reader.read()
    const read = length === null ? await untilPause(next, pauseMs) : await next
    if (read === PAUSED) return { replayable: false, stream: resume(chunks, reader, next) }
    if (read.done) break
    chunks.push(read.value)
    size += read.value.byteLength
    if (size > limit) return { replayable: false, stream: resume(chunks, reader) }
  }
  if (chunks.length === 1) return { replayable: true, bytes: chunks[0]! }
  const bytes = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    bytes.set(c, at)
    at += c.byteLength
  }
  return { replayable: true, bytes }
}

function untilPause<T>(read: Promise<T>, ms: number): Promise<T | typeof PAUSED> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const paused = new Promise<typeof PAUSED>((resolve) => (timer = setTimeout(resolve, ms, PAUSED)))
  return Promise.race([read, paused]).finally(() => clearTimeout(timer))
}

/** A stream of the chunks already read, then a read still pending, then the rest of the reader. */
function resume(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pending?: Promise<ReadableStreamReadResult<Uint8Array>>,
): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = head.shift()
      if (next) return controller.enqueue(next)
      const read = pending ?? reader.read()
      pending = undefined
      const { done, value } = await read
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
