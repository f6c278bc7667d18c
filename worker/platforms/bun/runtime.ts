/**
 * Bun's pieces of a served ambassador: `Bun.serve` listeners, `Bun.file` reads, and the
 * upstream leg: legate's own HTTP/1.1 connections on `Bun.connect` for body-less requests
 * (socket-forward.ts), Bun's fetch for the rest. LEGATE_BUN_FETCH=1 sends everything through
 * fetch, LEGATE_PORTABLE_FORWARD=1 through the portable forward alone (both for comparison).
 * Bun implements `node:fs` natively; its `rename` is the atomic replace the state file needs.
 * @module
 */
import { rename } from 'node:fs/promises'
import type { ServerRuntime } from '../web/server-ambassador.ts'
import { createProcessStats } from '../node/process-stats.ts'
import { createSmallBodyForward } from '../web/small-body-forward.ts'
import { createSocketForward } from './socket-forward.ts'

// Just the Bun globals used here, so `tsc -p .` checks this file under Node's types too.
interface BunServer {
  port: number
  stop(closeActiveConnections?: boolean): Promise<void> | void
  requestIP(req: Request): { address: string } | null
}
interface BunFile {
  exists(): Promise<boolean>
  text(): Promise<string>
  size: number
  lastModified: number
}
interface BunGlobal {
  serve(options: { port: number; hostname: string; idleTimeout?: number; fetch(req: Request, server: BunServer): Response | Promise<Response> }): BunServer
  file(path: string): BunFile
  write(path: string, text: string, options?: { mode?: number }): Promise<number>
}
const Bun = (globalThis as unknown as { Bun: BunGlobal }).Bun

export function createBunRuntime(): ServerRuntime {
  const fetchForward = process.env.LEGATE_PORTABLE_FORWARD ? undefined : createSmallBodyForward()
  const socketForward = fetchForward && !process.env.LEGATE_BUN_FETCH ? createSocketForward(fetchForward) : undefined
  return {
    name: 'bun',
    async serve(handler, port, hostname) {
      // Bun's default idle timeout (10 s) would cut a control long-poll or a slow upstream; 255 s is its maximum.
      const server = Bun.serve({ port, hostname, idleTimeout: 255, fetch: (req, s) => handler(req, { remoteAddr: s.requestIP(req)?.address ?? '' }) })
      // Stop accepting and let in-flight requests finish, for at most 5 s; then cut what is left.
      const close = async () => {
        const bounded = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref?.())
        await Promise.race([Promise.resolve(server.stop(false)), bounded])
        await server.stop(true)
      }
      return { port: server.port, close }
    },
    async readText(path) {
      const f = Bun.file(path)
      return (await f.exists()) ? f.text() : undefined
    },
    async writeText(path, text) {
      const tmp = `${path}.${process.pid}.tmp`
      await Bun.write(tmp, text, { mode: 0o600 })
      await rename(tmp, path)
    },
    async stat(path) {
      const f = Bun.file(path)
      return (await f.exists()) ? { mtime: f.lastModified, size: f.size } : undefined
    },
    forward: socketForward ?? fetchForward,
    onOrigins: socketForward?.retain,
    processStats: createProcessStats(),
    log: (line) => console.log(line),
  }
}
