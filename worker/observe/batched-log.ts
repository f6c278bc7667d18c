/**
 * Log lines, batched: lines are gathered for up to `flushMs` (or `maxBatchBytes`) and handed
 * to `write` as one text, so an access line per request does not cost a write per request
 * (stdout to a file or a pipe is a synchronous write on Linux; one per request cost Bun and
 * Deno several µs each). A stalled sink cannot grow memory without bound: past `maxPending`
 * lines are dropped, and the next batch says how many.
 * @module
 */
export interface BatchedLogOptions {
  /** Longest a line waits before it is written (default 25 ms). */
  flushMs?: number
  /** Write as soon as this much is pending (default 64 KiB). */
  maxBatchBytes?: number
  /** Lines kept while the sink is slow; beyond, lines are dropped and counted (default 10 000). */
  maxPending?: number
}

export interface BatchedLog {
  write(line: string): void
  /** Writes what is pending now (at exit). */
  flush(): void
}

export function createBatchedLog(sink: (text: string) => void, options: BatchedLogOptions = {}): BatchedLog {
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
    // The final newline joined in too: `join(…) + '\n'` would make the sink copy the batch once more to flatten it.
    pending.push('')
    const text = pending.join('\n')
    pending = []
    pendingBytes = 0
    sink(text)
  }
  return {
    write(line) {
      if (pending.length >= maxPending) {
        dropped++
        return
      }
      pending.push(line)
      pendingBytes += line.length + 1
      if (pendingBytes >= maxBatchBytes) flush()
      else if (!timer) {
        timer = setTimeout(flush, flushMs)
        // A pending batch must not keep the process alive (Deno's timer ids have no unref; its runtime unrefs them).
        ;(timer as { unref?: () => void }).unref?.()
      }
    },
    flush,
  }
}
