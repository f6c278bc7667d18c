/**
 * Log lines on Node, batched: lines are gathered for up to `flushMs` (or `maxBatchBytes`)
 * and written with one `write` call, so an access line per request does not cost a
 * syscall per request. stdout to a pipe is synchronous on Linux: fewer, larger writes
 * matter there most.
 * @module
 */
export interface LogWriterOptions {
  stream?: NodeJS.WritableStream
  /** Longest a line waits before it is written (default 25 ms). */
  flushMs?: number
  /** Write as soon as this much is pending (default 64 KiB). */
  maxBatchBytes?: number
  /** Lines kept while the sink is slow; beyond, lines are dropped and counted (default 10 000). */
  maxPending?: number
}

export function createLogWriter(streamOrOptions?: NodeJS.WritableStream | LogWriterOptions): { write(line: string): void; flush(): void } {
  const options: LogWriterOptions = streamOrOptions && 'write' in streamOrOptions ? { stream: streamOrOptions } : ((streamOrOptions as LogWriterOptions | undefined) ?? {})
  const stream = options.stream ?? process.stdout
  const flushMs = options.flushMs ?? 25
  const maxBatchBytes = options.maxBatchBytes ?? 64 * 1024
  const maxPending = options.maxPending ?? 10_000
  let pending: string[] = []
  let pendingBytes = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let dropped = 0
  const flush = () => {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return
    if (dropped) pending.push(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'log lines dropped: output too slow', dropped }))
    dropped = 0
    const text = pending.join('\n') + '\n'
    pending = []
    pendingBytes = 0
    stream.write(text)
  }
  process.once('exit', flush)
  return {
    write(line) {
      // A stalled log sink must not grow memory without bound: drop and say so.
      if (pending.length >= maxPending) {
        dropped++
        return
      }
      pending.push(line)
      pendingBytes += line.length + 1
      if (pendingBytes >= maxBatchBytes) flush()
      else if (!timer) {
        timer = setTimeout(flush, flushMs)
        timer.unref()
      }
    },
    flush,
  }
}
