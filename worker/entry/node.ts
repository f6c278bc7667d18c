/**
 * The Node entry: builds the Node platform, calls `createAmbassador`, and serves the
 * inbound, outbound and admin listeners (HTTP/1.1 and h2c on each port, with the limits
 * of `platforms/node/limits.ts`; see `platforms/node/listener.ts`).
 * @module
 */
import { createListener, type FetchHandler, type Listener } from '../platforms/node/listener.ts'
import type { ListenerLimits } from '../platforms/node/limits.ts'
import { createDrain } from '../platforms/node/drain.ts'
import type { AppProtocol } from '../platforms/node/protocol-forward.ts'
import { createAmbassador, fetchHandler, type Ambassador, type AmbassadorOptions } from '../app.ts'
import type { ContextHandler } from '../platform.ts'
import { createNodePlatform, type NodePlatform } from '../platforms/node/platform.ts'
import { createFileSource } from '../platforms/node/file-source.ts'
import { missingNodeFlags, tuneHeapForProxying } from '../platforms/node/heap-tuning.ts'

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
  /** Header, timeout, connection and body limits of the inbound and outbound listeners. */
  limits?: Partial<ListenerLimits>
  /** Graceful drain: ms from the signal to closing the listeners, and ms until what is left is cut. */
  drainDelay?: number
  drainTimeout?: number
  /** How to speak to `app` (default http; h2c for a gRPC app). */
  appProtocol?: AppProtocol
}

export interface RunningAmbassador {
  ambassador: Ambassador
  platform: NodePlatform
  ports: { inbound?: number; outbound: number; admin: number }
  /** Graceful drain (readyz 503, stop accepting after the delay, finish in-flight work); true when done in time. Then call close(). */
  drain(): Promise<boolean>
  close(): Promise<void>
}

export async function startNodeAmbassador(options: NodeAmbassadorOptions): Promise<RunningAmbassador> {
  tuneHeapForProxying()
  const hostname = options.hostname ?? '127.0.0.1'
  const platform = createNodePlatform({ mesh: options.mesh, stateDir: options.stateDir, logStream: options.logStream })
  const { configFile } = options
  const ambassador = createAmbassador({
    ...options,
    platform,
    source: configFile ? (holder) => createFileSource({ path: configFile, holder, maxBytes: options.maxConfigBytes }) : undefined,
  })
  // Per-origin protocol and TLS settings follow the applied config.
  platform.protocols.setLogger(ambassador.logger)
  ambassador.holder.onApply((snapshot) => platform.protocols.apply(snapshot))
  if (options.app && options.appProtocol) platform.protocols.declare(options.app, options.appProtocol)
  await ambassador.start()
  const missing = missingNodeFlags()
  if (missing.length) ambassador.logger.warn('node started without the ambassador\'s V8 flags: after an idle spell the first requests run unoptimized; start it as `node --no-memory-reducer bin/legate.js ambassador …` (docs/runtimes.md)', { missing })
  const drain = createDrain({ delay: options.drainDelay, timeout: options.drainTimeout, logger: ambassador.logger })
  const { metrics } = ambassador
  const listen = (port: number, fetch: FetchHandler, routed?: { direction: 'inbound' | 'outbound'; handle: ContextHandler; failed: (err: unknown) => Response }) => {
    const direction = routed?.direction
    return createListener({
      fetch: direction ? fetch : drain.gate(fetch),
      handle: routed?.handle,
      failed: routed?.failed,
      port,
      hostname,
      limits: options.limits,
      upgrades: !!direction,
      events: direction && {
        upgrade: (status) => metrics.upgrades.inc([direction, String(status)]),
        tunnels: (open) => metrics.tunnelsOpen.set([direction], open),
        localReply: (code) => metrics.localReplies.inc([code]),
      },
    })
  }
  // A routed listener: HTTP/1.1 straight to the chain (its failures answered by the listener),
  // HTTP/2 and Upgrades through the guarded handler's fetch form.
  const { unguarded } = ambassador
  const listenRouted = (port: number, direction: 'inbound' | 'outbound') =>
    listen(port, fetchHandler(ambassador.handlers[direction]), { direction, handle: unguarded[direction], failed: unguarded.failed })
  const servers: Listener[] = []
  const port = (s: Listener) => s.port
  try {
    const admin = await listen(options.adminPort ?? 15000, ambassador.admin.fetch)
    servers.push(admin)
    const outbound = await listenRouted(options.outboundPort ?? 15001, 'outbound')
    servers.push(outbound)
    const inbound = options.app ? await listenRouted(options.inboundPort ?? 15006, 'inbound') : undefined
    if (inbound) servers.push(inbound)
    ambassador.logger.info('ambassador listening', { admin: port(admin), outbound: port(outbound), inbound: inbound && port(inbound), mesh: options.mesh })
    return {
      ambassador,
      platform,
      ports: { admin: port(admin), outbound: port(outbound), inbound: inbound && port(inbound) },
      drain: () => drain.run(inbound ? [outbound, inbound] : [outbound]),
      async close() {
        ambassador.stop()
        await Promise.all(servers.map((s) => s.close()))
        await platform.close()
        platform.flushLogs()
      },
    }
  } catch (err) {
    ambassador.stop()
    for (const s of servers) void s.close()
    await platform.close()
    throw err
  }
}
