/**
 * `npm start`: the demo mesh on localhost, in one process.
 *
 *   - a dev signing key under .legate/ (created if absent),
 *   - a control with the file store (.legate/control) trusting that key,
 *   - examples/mesh.yaml signed and published,
 *   - the small upstream services examples/mesh.yaml names (frontend, api ×2, api-canary, users),
 *   - an ambassador (outbound :15001, admin :15000, inbound :15006 for "frontend"),
 *
 * then prints curl commands to try. Ctrl-C stops everything it started.
 * @module
 */
import { createServer, type Server } from 'node:http'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml'
import { createTrustSet, generateSigningKey, importSigningKey, parseConfigText, signConfig } from '../protocol/index.ts'
import { startControl } from '../control/entry.node.ts'
import { fileStore } from '../control/stores/file.ts'
import { startNodeAmbassador } from '../worker/entry/node.ts'

const root = new URL('..', import.meta.url).pathname
const dir = join(root, '.legate')
const CONTROL_PORT = Number(process.env.LEGATE_DEMO_CONTROL_PORT ?? 8787)
const keyPath = join(dir, 'dev.private.jwk.json')
const trustPath = join(dir, 'dev.jwks.json')
const meshPath = join(root, 'examples/mesh.yaml')

async function devKey() {
  mkdirSync(dir, { recursive: true })
  if (!existsSync(keyPath)) {
    const { privateJwk, publicJwk } = await generateSigningKey('dev')
    writeFileSync(keyPath, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600 })
    writeFileSync(trustPath, JSON.stringify({ keys: [publicJwk] }, null, 2) + '\n')
    console.log(`created a dev signing key: ${keyPath} (trust file ${trustPath})`)
  }
  return { signing: await importSigningKey(JSON.parse(readFileSync(keyPath, 'utf8'))), trust: await createTrustSet(JSON.parse(readFileSync(trustPath, 'utf8'))) }
}

/** A small upstream: answers JSON saying which service and instance served the request. */
function upstream(service: string, instance: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume()
    if (req.url === '/healthz') return void res.writeHead(200).end('ok')
    const body = JSON.stringify({ service, instance, method: req.method, path: req.url, requestId: req.headers['x-request-id'], traceparent: req.headers.traceparent, apiVersion: req.headers['x-api-version'] }) + '\n'
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

const main = async () => {
  const { signing, trust } = await devKey()
  const closers: Array<() => Promise<unknown> | void> = []
  const stop = async () => {
    for (const close of closers.reverse()) await close()
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())

  const config = parseConfigText(readFileSync(meshPath, 'utf8'), meshPath) as { services: Array<{ name: string; endpoints: Array<string | { url: string }> }> }
  for (const s of config.services) {
    for (const [i, e] of s.endpoints.entries()) {
      const url = new URL(typeof e === 'string' ? e : e.url)
      const server = await upstream(s.name, `${s.name}-${i + 1}`, Number(url.port))
      closers.push(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())))
    }
  }

  const control = await startControl({ store: fileStore({ dir: join(dir, 'control') }), trust, port: CONTROL_PORT, hostname: '127.0.0.1' })
  closers.push(() => control.close())

  const jws = await signConfig(config, { ...signing, iss: 'dev' })
  const put = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', headers: { 'content-type': 'application/jwt' }, body: jws })
  if (put.status !== 201) throw new Error(`publishing examples/mesh.yaml failed: ${put.status} ${await put.text()}`)
  const { version } = (await put.json()) as { version: number }

  // A changed config to publish by hand: the canary gets half of /v1.
  const changed = parseYaml(readFileSync(meshPath, 'utf8'))
  changed.routes[0].rules[1].backendRefs = [{ name: 'api', weight: 50 }, { name: 'api-canary', weight: 50 }]
  writeFileSync(join(dir, 'mesh-canary-50.yaml'), stringifyYaml(changed))

  const amb = await startNodeAmbassador({
    trust,
    mesh: 'demo',
    control: control.url,
    service: 'frontend',
    app: 'http://127.0.0.1:9101',
    stateDir: join(dir, 'state'),
    logLevel: (process.env.LEGATE_LOG_LEVEL as 'info') ?? 'warn',
  })
  closers.push(() => amb.close())

  const c = (s: string) => `  ${s}`
  console.log(`
legate demo mesh is up (config version ${version}).
  control   ${control.url}        (file store .legate/control, trusts .legate/dev.jwks.json)
  outbound  http://127.0.0.1:${amb.ports.outbound}  (route by Host, or HTTP_PROXY)
  inbound   http://127.0.0.1:${amb.ports.inbound}  (to the "frontend" app on :9101)
  admin     http://127.0.0.1:${amb.ports.admin}

Try:
${c(`curl -s -H 'Host: api' http://127.0.0.1:${amb.ports.outbound}/v1/items          # 90/10 api / api-canary split`)}
${c(`for i in $(seq 20); do curl -s -H 'Host: api' http://127.0.0.1:${amb.ports.outbound}/v1/x | grep -o '"instance":"[^"]*"'; done | sort | uniq -c`)}
${c(`curl -s -H 'Host: api' -H 'x-canary: 1' -i http://127.0.0.1:${amb.ports.outbound}/anything   # header match → canary, x-served-by`)}
${c(`curl -si -H 'Host: api' http://127.0.0.1:${amb.ports.outbound}/old-docs            # 301 redirect`)}
${c(`curl -s -H 'Host: users' http://127.0.0.1:${amb.ports.outbound}/accounts/42        # URL rewrite → /users/42`)}
${c(`curl -s -x http://127.0.0.1:${amb.ports.outbound} http://api/v1/proxied          # as an HTTP proxy (apps: http_proxy=...)`)}
${c(`curl -s -H 'Host: nowhere' http://127.0.0.1:${amb.ports.outbound}/                 # 404 no_route`)}
${c(`curl -s http://127.0.0.1:${amb.ports.admin}/readyz; curl -s http://127.0.0.1:${amb.ports.admin}/config`)}
${c(`curl -s http://127.0.0.1:${amb.ports.admin}/metrics | grep ^legate_requests_total`)}

Publish a changed config (canary 50%) and watch it apply:
${c(`npx legate sign .legate/mesh-canary-50.yaml --key .legate/dev.private.jwk.json -o .legate/mesh.jws`)}
${c(`npx legate publish .legate/mesh.jws --control ${control.url}`)}
${c(`curl -s http://127.0.0.1:${amb.ports.admin}/config       # version changes within a moment`)}

Ctrl-C stops everything.`)
}

main().catch((err) => {
  console.error(`demo failed: ${(err as Error)?.stack ?? err}`)
  process.exit(1)
})
