/**
 * The Node platform: the upstream leg (legate's own HTTP/1.1 connections for body-less
 * requests, undici for the rest, both written straight to the client's socket), the file
 * state store, the socket's peer address, batched log output and unref'd timers.
 * @module
 */
import type { HttpBindings } from '@hono/node-server'
import type { Platform } from '../../platform.ts'
import { createUndiciForward, type UndiciForwardOptions } from './undici-forward.ts'
import { createNodeSocketForward } from './socket-forward.ts'
import { createFileStateStore } from './state-file.ts'
import { createByteLog } from './byte-log.ts'
import { createProtocolForward, type ProtocolForward } from './protocol-forward.ts'
import { RawHeaderReader } from './raw-headers.ts'
import { createProcessStats } from './process-stats.ts'

export interface NodePlatformOptions extends UndiciForwardOptions {
  /** `--state DIR`: where the last-known-good config is kept. */
  stateDir?: string
  mesh: string
  /** Log output (default stdout). */
  logStream?: NodeJS.WritableStream
}

export interface NodePlatform extends Platform {
  close(): Promise<void>
  flushLogs(): void
  /** HTTP/2 upstreams, Upgrade tunnels, per-service TLS and body limits (see protocol-forward.ts). */
  protocols: ProtocolForward
}

export function createNodePlatform(options: NodePlatformOptions): NodePlatform {
  // The undici pools ask the protocol forward for each origin's TLS settings.
  let protocols: ProtocolForward | undefined
  const undici = createUndiciForward({ ...options, connectorFor: (origin, timeout) => protocols?.connectorFor(origin, timeout) })
  // LEGATE_NODE_UNDICI=1: every request through undici (for comparison; see socket-forward.ts).
  const sockets = process.env.LEGATE_NODE_UNDICI ? undefined : createNodeSocketForward(undici.forward, { connectTimeout: options.connectTimeout })
  const retain = (origins: ReadonlySet<string>) => {
    undici.retain(origins)
    sockets?.retain(origins)
  }
  protocols = createProtocolForward({ base: sockets?.forward ?? undici.forward, retainBase: retain, connectTimeout: options.connectTimeout })
  const stream = options.logStream ?? process.stdout
  const log = createByteLog((bytes) => stream.write(bytes))
  process.once('exit', log.flush)
  return {
    name: 'node',
    forward: protocols.forward,
    protocols,
    clientAddress(c) {
      const addr = (c.env as HttpBindings | undefined)?.incoming?.socket?.remoteAddress ?? ''
      return addr.startsWith('::ffff:') ? addr.slice(7) : addr
    },
    requestHeaders(c) {
      const incoming = (c.env as HttpBindings | undefined)?.incoming
      return incoming ? new RawHeaderReader(incoming.rawHeaders) : c.req.raw.headers
    },
    waitUntil(_c, work) {
      void work.catch(() => {})
    },
    setInterval(fn, ms) {
      const t = setInterval(fn, ms)
      t.unref()
      return { cancel: () => clearInterval(t) }
    },
    now: Date.now,
    state: options.stateDir ? createFileStateStore(options.stateDir, options.mesh) : undefined,
    log: log.write,
    onOrigins: retain,
    processStats: createProcessStats(),
    close: async () => {
      sockets?.close()
      await Promise.all([undici.close(), protocols.close()])
    },
    flushLogs: log.flush,
  }
}
