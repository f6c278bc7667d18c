/**
 * The bare Node forwarder (node-undici.ts) with legate's own HTTP/1.1 client
 * (worker/platforms/http1/, over worker/platforms/node/net-connector.ts) in place of undici:
 * what the client alone costs, without legate's core. `bench/sat-ab.ts --bare '' --bare
 * 'bench/forwarders/node-socket.ts'` prices it against undici in one run.
 *
 *   PORT=19103 UPSTREAM=http://127.0.0.1:19100 node --import tsx bench/forwarders/node-socket.ts
 * @module
 */
import { createServer, type ServerResponse } from 'node:http'
import { ConnectionPools, type Connection, type Exchange } from '../../worker/platforms/http1/connection-pool.ts'
import type { ResponseHead } from '../../worker/platforms/http1/response-reader.ts'
import { createNetConnector } from '../../worker/platforms/node/net-connector.ts'
import { endToEndFields } from '../../worker/upstream/hop-by-hop.ts'

const port = Number(process.env.PORT ?? 19103)
const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:19100'
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])

const pools = new ConnectionPools(createNetConnector())
const pool = pools.get(upstream)

class Call implements Exchange {
  conn: Connection | undefined
  cancelled = false
  retryable = true
  readonly headRequest: boolean
  constructor(
    readonly request: string,
    private readonly res: ServerResponse,
    method: string,
  ) {
    this.headRequest = method === 'HEAD'
  }
  head(h: ResponseHead) {
    this.res.writeHead(h.status, endToEndFields(h.fields))
  }
  body(chunk: Uint8Array) {
    this.res.write(chunk)
  }
  end() {
    this.res.end()
  }
  fail() {
    if (!this.res.headersSent) this.res.writeHead(502).end()
    else this.res.destroy()
  }
}

const server = createServer((req, res) => {
  let head = `${req.method} ${req.url} HTTP/1.1\r\nhost: ${new URL(upstream).host}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`
  pool.send(new Call(head + '\r\n', res, req.method!))
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
process.once('SIGTERM', () => process.exit(0))
