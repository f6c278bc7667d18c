/**
 * The ambassador on a runtime that serves web `fetch` handlers on ports (Bun, Deno): the
 * same `createAmbassador` core, the same flags as `legate ambassador` on Node, the admin,
 * outbound and (with `app`) inbound listeners, `--config-file` polled, `--state` kept.
 * Each runtime supplies a `ServerRuntime` of a few lines (`platforms/bun`, `platforms/deno`);
 * nothing here imports a runtime's globals.
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'
import { DEFAULT_MAX_CONFIG_BYTES } from '../../../protocol/envelope/claims.ts'
import { createAmbassador, fetchHandler, type Ambassador, type AmbassadorOptions } from '../../app.ts'
import { createFetchForward } from '../../upstream/forward.ts'
import type { Platform, ProcessStats, StateStore, UpstreamForward } from '../../platform.ts'
import type { ConfigHolder } from '../../config/holder.ts'
import type { ConfigSource } from '../../config/control-source.ts'
import { createBatchedLog } from '../../observe/batched-log.ts'

export interface ServedPort {
  port: number
  close(): Promise<void>
}

/** A request handler as the runtime calls it: the peer address comes as Hono's `c.env.remoteAddr`. */
export type PortHandler = (req: Request, env: { remoteAddr: string }) => Response | Promise<Response>

export interface ServerRuntime {
  name: string
  serve(handler: PortHandler, port: number, hostname: string): Promise<ServedPort>
  /** The file's text, or undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>
  /** Replaces the file atomically (mode 0600). */
  writeText(path: string, text: string): Promise<void>
  /** Modification time and size, or undefined when it does not exist. */
  stat(path: string): Promise<{ mtime: number; size: number } | undefined>
  /** The upstream client (default: web fetch, counting response bytes). */
  forward?: UpstreamForward
  /** Called after each config swap with the origins in use (the upstream client may drop idle connections to others). */
  onOrigins?(origins: ReadonlySet<string>): void
  /** The process's CPU time and memory for /metrics. */
  processStats?(): ProcessStats
  log(line: string): void
}

export interface ServerAmbassadorOptions extends Omit<AmbassadorOptions, 'platform' | 'source'> {
  /** A signed config file to poll instead of a control. */
  configFile?: string
  stateDir?: string
  /** Ports (0: any free one); inbound is served only with `app`. */
  inboundPort?: number
  outboundPort?: number
  adminPort?: number
  hostname?: string
}

export interface RunningServerAmbassador {
  ambassador: Ambassador
  ports: { inbound?: number; outbound: number; admin: number }
  close(): Promise<void>
}

export const remoteAddr = (env: unknown) => (env as { remoteAddr?: string } | undefined)?.remoteAddr ?? ''

function stateStore(runtime: ServerRuntime, dir: string, mesh: string): StateStore {
  const path = `${dir.replace(/\/+$/, '')}/${mesh}.last-known-good.jws`
  return {
    load: async () => (await runtime.readText(path))?.trim() || undefined,
    save: (jws) => runtime.writeText(path, jws + '\n'),
  }
}

/** `--config-file`: polled (stat, then read on change), so an atomic replace is seen too. */
function polledFile(runtime: ServerRuntime, platform: Platform, path: string, holder: ConfigHolder, maxBytes: number): ConfigSource {
  let seen = ''
  let timer: { cancel(): void } | undefined
  const load = async () => {
    try {
      const st = await runtime.stat(path)
      if (!st) throw new LegateError('not_found', `${path} does not exist`)
      if (`${st.mtime}/${st.size}` === seen) return
      seen = `${st.mtime}/${st.size}`
      if (st.size > maxBytes + 2) throw new LegateError('too_large', `${path} is ${st.size} bytes, over the ${maxBytes}-byte limit`)
      holder.noteSourceOk()
      await holder.offer(((await runtime.readText(path)) ?? '').trim(), `file ${path}`)
    } catch (err) {
      holder.noteSourceError(err)
    }
  }
  return {
    start() {
      void load()
      timer ??= platform.setInterval(() => void load(), 250)
    },
    stop() {
      timer?.cancel()
      timer = undefined
    },
  }
}

export async function startServerAmbassador(runtime: ServerRuntime, options: ServerAmbassadorOptions): Promise<RunningServerAmbassador> {
  const hostname = options.hostname ?? '127.0.0.1'
  const maxBytes = options.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES
  // One write per batch of lines (the runtime's log appends the last newline).
  const log = createBatchedLog((text) => runtime.log(text.slice(0, -1)))
  const platform: Platform = {
    name: runtime.name,
    forward: runtime.forward ?? createFetchForward(),
    onOrigins: runtime.onOrigins,
    processStats: runtime.processStats,
    clientAddress: (c) => remoteAddr(c.env),
    waitUntil: (_c, work) => void work.catch(() => {}),
    setInterval(fn, ms) {
      const t = setInterval(fn, ms) as unknown as { unref?: () => void }
      // Bun has unref on timers; Deno's numeric ids go through Deno.unrefTimer in its runtime.
      t.unref?.()
      return { cancel: () => clearInterval(t as never) }
    },
    now: Date.now,
    state: options.stateDir ? stateStore(runtime, options.stateDir, options.mesh) : undefined,
    log: log.write,
  }
  const { configFile } = options
  const ambassador = createAmbassador({ ...options, platform, source: configFile ? (holder) => polledFile(runtime, platform, configFile, holder, maxBytes) : undefined })
  await ambassador.start()
  const served: ServedPort[] = []
  try {
    const admin = await runtime.serve(ambassador.admin.fetch, options.adminPort ?? 15000, hostname)
    served.push(admin)
    const outbound = await runtime.serve(fetchHandler(ambassador.handlers.outbound), options.outboundPort ?? 15001, hostname)
    served.push(outbound)
    const inbound = options.app ? await runtime.serve(fetchHandler(ambassador.handlers.inbound), options.inboundPort ?? 15006, hostname) : undefined
    if (inbound) served.push(inbound)
    ambassador.logger.info('ambassador listening', { runtime: runtime.name, admin: admin.port, outbound: outbound.port, inbound: inbound?.port, mesh: options.mesh })
    return {
      ambassador,
      ports: { admin: admin.port, outbound: outbound.port, inbound: inbound?.port },
      async close() {
        ambassador.stop()
        await Promise.all(served.map((s) => s.close()))
        log.flush()
      },
    }
  } catch (err) {
    ambassador.stop()
    await Promise.all(served.map((s) => s.close()))
    throw err
  }
}
