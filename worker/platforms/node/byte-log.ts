/**
 * The Node platform's batched log: `observe/batched-log.ts`'s batching (by time and size, lines
 * dropped and counted past `maxPending`), but each line is encoded into the batch's buffer as
 * it is written, not kept as a string and joined at flush. An access line is a chain of
 * concatenated pieces; joined 25 ms later, a batch's ~190 chains are walked cold (their
 * pieces spread over megabytes of young generation by then) and the joined text is encoded
 * again by the sink: that join was 0.7-1.2 µs per request in CPU profiles, and the join and
 * encoded copy ~680 bytes of allocation per request. Encoding the line at once reads it while
 * it is still in cache, and the sink gets the bytes.
 * @module
 */
import type { BatchedLog, BatchedLogOptions } from '../../observe/batched-log.ts'

export function createByteLog(sink: (bytes: Uint8Array) => void, options: BatchedLogOptions = {}): BatchedLog {
  const flushMs = options.flushMs ?? 25
  const maxBatchBytes = options.maxBatchBytes ?? 64 * 1024
  const maxPending = options.maxPending ?? 10_000
  // Room past the flush threshold so that the line which crosses it still fits.
  const size = maxBatchBytes + 16 * 1024
  let buf = Buffer.allocUnsafeSlow(size)
  let used = 0
  let lines = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let dropped = 0

  const append = (line: string) => {
    // A UTF-16 code unit is at most 3 bytes of UTF-8; a line that might not fit goes after a flush.
    if (size - used < 3 * line.length + 1) {
      flush()
      if (size < 3 * line.length + 1) {
        sink(Buffer.from(`${line}\n`))
        return
      }
    }
    used += buf.write(line, used)
    buf[used++] = 10
    lines++
  }

  function flush() {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (dropped) {
      const n = dropped
      dropped = 0
      append(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'log lines dropped: output too slow', dropped: n }))
    }
    if (used === 0) return
    // The sink may keep the bytes (a pipe writes them later): the next batch gets a new buffer.
    const bytes = buf.subarray(0, used)
    buf = Buffer.allocUnsafeSlow(size)
    used = 0
    lines = 0
    sink(bytes)
  }

  return {
    write(line) {
      if (lines >= maxPending) {
        dropped++
        return
      }
      append(line)
      if (used >= maxBatchBytes) flush()
      else if (!timer) {
        timer = setTimeout(flush, flushMs)
        timer.unref()
      }
    },
    flush,
  }
}
