/**
 * Log lines on Node, batched: lines gathered during one turn of the event loop are written
 * with one `write` call, so an access line per request does not cost a syscall per request.
 * @module
 */
export function createLogWriter(stream: NodeJS.WritableStream = process.stdout, maxPending = 10_000): { write(line: string): void; flush(): void } {
  let pending: string[] = []
  let scheduled = false
  let dropped = 0
  const flush = () => {
    scheduled = false
    if (pending.length === 0) return
    if (dropped) pending.push(JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'log lines dropped: output too slow', dropped }))
    dropped = 0
    const text = pending.join('\n') + '\n'
    pending = []
    stream.write(text)
  }
  return {
    write(line) {
      // A stalled log sink must not grow memory without bound: drop and say so.
      if (pending.length >= maxPending) {
        dropped++
        return
      }
      pending.push(line)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    },
    flush,
  }
}
