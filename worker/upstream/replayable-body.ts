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

export async function prepareBody(request: Request, limit = MAX_REPLAY_BYTES): Promise<PreparedBody> {
  const body = request.body
  if (body === null) return { replayable: true, bytes: null }
  const declared = Number(request.headers.get('content-length') ?? NaN)
  if (declared > limit) return { replayable: false, stream: body }

  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
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

/** A stream of the chunks already read followed by the rest of the reader. */
function resume(head: Uint8Array[], reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = head.shift()
      if (next) return controller.enqueue(next)
      const { done, value } = await reader.read()
      if (done) controller.close()
      else controller.enqueue(value)
    },
    cancel(reason) {
      return reader.cancel(reason)
    },
  })
}
