/**
 * The control worker on Node: `createControl` served by @hono/node-server. `legate control`
 * calls this; tests and embedders can too.
 * @module
 */
import { serve, type ServerType } from '@hono/node-server'
import type { TrustSet } from '../protocol/index.ts'
import { createControl } from './app.ts'
import type { ConfigStore } from './store.ts'

export interface NodeControlOptions {
  store: ConfigStore
  trust: TrustSet
  publishToken?: string
  maxConfigBytes?: number
  port?: number
  hostname?: string
}

export interface NodeControl {
  /** `http://host:port`, with the port actually bound (useful with port 0). */
  url: string
  port: number
  server: ServerType
  /** Stops accepting, ends held long-polls and closes the store. */
  close(): Promise<void>
}

export function startControl(options: NodeControlOptions): Promise<NodeControl> {
  const app = createControl(options)
  const hostname = options.hostname ?? '0.0.0.0'
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: options.port ?? 8787, hostname }, (info) => {
      const shown = hostname === '0.0.0.0' || hostname === '::' ? '127.0.0.1' : hostname.includes(':') ? `[${hostname}]` : hostname
      resolve({
        url: `http://${shown}:${info.port}`,
        port: info.port,
        server,
        async close() {
          await new Promise<void>((done) => {
            server.close(() => done())
            // Held long-polls would keep close() waiting up to 60 s; cut them.
            ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
          })
          await options.store.close()
        },
      })
    })
    server.once('error', reject)
  })
}
