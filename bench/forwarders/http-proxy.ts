/**
 * node `http-proxy` as a peer, with a keep-alive agent to the upstream.
 *
 *   PORT=19107 UPSTREAM=http://127.0.0.1:19100 node --import tsx bench/forwarders/http-proxy.ts
 * @module
 */
import { Agent, createServer } from 'node:http'
import httpProxy from 'http-proxy'

const port = Number(process.env.PORT ?? 19107)
const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:19100'
const proxy = httpProxy.createProxyServer({ target: upstream, agent: new Agent({ keepAlive: true, maxSockets: 128 }), xfwd: false })
proxy.on('error', (_err, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502).end()
  else res.destroy()
})
const server = createServer((req, res) => proxy.web(req, res))
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
// Exit cleanly on SIGTERM, so that --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
