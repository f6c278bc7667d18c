/**
 * node:net sockets in the shape of `Bun.connect`, for legate's HTTP/1.1 connection pool
 * (platforms/http1/connection-pool.ts) on Node. A write is always taken whole (node:net
 * buffers what the kernel does not take at once), and a connect that takes longer than
 * `connectTimeout` fails as a refused one would.
 * @module
 */
import { connect } from 'node:net'
import type { Connection, PoolSocket, SocketConnector, SocketHandlers } from '../http1/connection-pool.ts'

export function createNetConnector(connectTimeout = 5_000): SocketConnector {
  return {
    connect({ hostname, port, socket: on, data }: { hostname: string; port: number; socket: SocketHandlers; data: Connection }): Promise<PoolSocket> {
      return new Promise((resolve, reject) => {
        const s = connect({ host: hostname, port })
        const socket: PoolSocket = {
          data,
          // Heads are ASCII, or bytes when they carry latin1 values (see the socket forwards).
          write: (d) => (typeof d === 'string' ? s.write(d, 'latin1') : s.write(d), d.length),
          terminate: () => void s.destroy(),
          pause: () => void s.pause(),
          resume: () => void s.resume(),
          setNoDelay: (on = true) => (s.setNoDelay(on), true),
        }
        let open = false
        s.setTimeout(connectTimeout, () => s.destroy(new Error(`connect timed out after ${connectTimeout} ms`)))
        s.once('connect', () => {
          open = true
          s.setTimeout(0)
          resolve(socket)
        })
        s.on('data', (chunk: Buffer) => on.data(socket, chunk))
        s.on('end', () => on.end(socket))
        s.on('error', (err) => {
          if (open) return on.error(socket, err)
          on.connectError(socket, err)
          reject(err)
        })
        s.on('close', () => open && on.close(socket))
      })
    },
  }
}
