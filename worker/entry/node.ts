/**
 * The Node entry: builds the Node platform, calls `createAmbassador`, and serves the
 * inbound, outbound and admin listeners with @hono/node-server.
 * @module
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { Hono } from 'hono'
import { createAmbassador, type Ambassador, type AmbassadorOptions } from '../app.ts'
import { createNodePlatform, type NodePlatform } from '../platforms/node/platform.ts'
import { createFileSource } from '../platforms/node/file-source.ts'

export interface NodeAmbassadorOptions extends Omit<AmbassadorOptions, 'platform' | 'source'> {
  /** A signed config file to watch instead of a control. */
  configFile?: string
  stateDir?: string
  /** Ports (0: any free one); inbound is served only with `app`. */
  inboundPort?: number
  outboundPort?: number
  adminPort?: number
  /** Listen address (default 127.0.0.1). */
  hostname?: string
  logStream?: NodeJS.WritableStream
}

export interface RunningAmbassador {
  ambassador: Ambassador
  platform: NodePlatform
  ports: { inbound?: number; outbound: number; admin: number }
  close(): Promise<void>
}

function listen(app: Hono, port: number, hostname: string): Promise<Server> {
  const server = createAdaptorServer({ fetch: app.fetch, hostname }) as Server
  // A proxy streams long bodies: no overall request deadline, but slow headers are cut
  // early and checked often (Node defaults: 60 s, every 30 s).
  server.requestTimeout = 0
  server.headersTimeout = 10_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, hostname, () => resolve(server))
  })
}

export async function startNodeAmbassador(options: NodeAmbassadorOptions): Promise<RunningAmbassador> {
  const hostname = options.hostname ?? '127.0.0.1'
  const platform = createNodePlatform({ mesh: options.mesh, stateDir: options.stateDir, logStream: options.logStream })
  const { configFile } = options
  const ambassador = createAmbassador({
    ...options,
    platform,
    source: configFile ? (holder) => createFileSource({ path: configFile, holder, maxBytes: options.maxConfigBytes }) : undefined,
  })
  await ambassador.start()
  const servers: Server[] = []
  const port = (s: Server) => (s.address() as AddressInfo).port
  try {
    const admin = await listen(ambassador.admin, options.adminPort ?? 15000, hostname)
    servers.push(admin)
    const outbound = await listen(ambassador.outbound, options.outboundPort ?? 15001, hostname)
    servers.push(outbound)
    const inbound = options.app ? await listen(ambassador.inbound, options.inboundPort ?? 15006, hostname) : undefined
    if (inbound) servers.push(inbound)
    ambassador.logger.info('ambassador listening', { admin: port(admin), outbound: port(outbound), inbound: inbound && port(inbound), mesh: options.mesh })
    return {
      ambassador,
      platform,
      ports: { admin: port(admin), outbound: port(outbound), inbound: inbound && port(inbound) },
      async close() {
        ambassador.stop()
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                s.close(() => resolve())
                s.closeAllConnections()
              }),
          ),
        )
        await platform.close()
        platform.flushLogs()
      },
    }
  } catch (err) {
    ambassador.stop()
    for (const s of servers) s.close()
    await platform.close()
    throw err
  }
}
