/**
 * Deno's pieces of a served ambassador: `Deno.serve` listeners, `Deno` file APIs, and the
 * upstream leg through Deno's fetch (the small-body fast path, else the portable forward).
 * @module
 */
import type { ServerRuntime } from '../web/server-ambassador.ts'
import { createProcessStats } from '../node/process-stats.ts'
import { createSmallBodyForward } from '../web/small-body-forward.ts'

// Just the Deno globals used here (as hono's adapter/deno/deno.d.ts does), so tsc checks this file too.
interface DenoGlobal {
  env: { get(name: string): string | undefined }
  pid: number
  readTextFile(path: string): Promise<string>
  writeTextFile(path: string, text: string, options?: { mode?: number }): Promise<void>
  rename(from: string, to: string): Promise<void>
  stat(path: string): Promise<{ mtime: Date | null; size: number }>
  mkdir(path: string, options?: { recursive?: boolean }): Promise<void>
  errors: { NotFound: new (...args: never[]) => Error }
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> }
}
const Deno = (globalThis as unknown as { Deno: DenoGlobal }).Deno

const orMissing = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await work()
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined
    throw err
  }
}

export function createDenoRuntime(): ServerRuntime {
  return {
    name: 'deno',
    async serve(handler, port, hostname) {
      const server = Deno.serve({ port, hostname, onListen: () => {} }, (req, info) => handler(req, { remoteAddr: info.remoteAddr.hostname }))
      return { port: server.addr.port, close: () => server.shutdown() }
    },
    readText: (path) => orMissing(() => Deno.readTextFile(path)),
    async writeText(path, text) {
      await Deno.mkdir(path.slice(0, path.lastIndexOf('/')) || '.', { recursive: true })
      const tmp = `${path}.${Deno.pid}.tmp`
      await Deno.writeTextFile(tmp, text, { mode: 0o600 })
      await Deno.rename(tmp, path)
    },
    stat: (path) => orMissing(async () => {
      const st = await Deno.stat(path)
      return { mtime: st.mtime?.getTime() ?? 0, size: st.size }
    }),
    forward: Deno.env.get('LEGATE_PORTABLE_FORWARD') ? undefined : createSmallBodyForward(),
    processStats: createProcessStats(),
    log: (line) => console.log(line),
  }
}
