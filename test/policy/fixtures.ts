/**
 * A small mesh for the policy acceptance tests: services with real workload keys, a
 * signer for configs, an app upstream on 127.0.0.1, and an ambassador whose inbound
 * listener fronts the app. Configs are offered to the ambassador's holder directly (what
 * the file and control sources do), so "as soon as a version applies" is exact.
 * @module
 */
import { createIdentityMinter, type IdentityMinter } from '../../protocol/identity/index.ts'
import { makeKey, type TestKey } from '../helpers/keys.ts'
import { request as httpRequest } from 'node:http'
import { createSigner, startAmbassador, startUpstream, until, type RawResponse, type Signer, type Upstream } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import type { NodeAmbassadorOptions } from '../../worker/entry/node.ts'

export const CALLERS = ['frontend', 'batch', 'admin-ui', 'ratings'] as const
export type Caller = (typeof CALLERS)[number]

export interface Mesh {
  signer: Signer
  keys: Record<string, TestKey>
  /** A config document: the services (with their keys) plus what `extra` adds. */
  config(extra?: Record<string, unknown>, keys?: Record<string, TestKey[]>): Record<string, unknown>
  minter(service: Caller | 'reviews', key?: TestKey): IdentityMinter
}

export async function createMesh(): Promise<Mesh> {
  const signer = await createSigner('ops')
  const keys: Record<string, TestKey> = {}
  for (const name of [...CALLERS, 'reviews']) keys[name] = await makeKey(`${name}-k1`)
  const minters = new Map<string, IdentityMinter>()
  return {
    signer,
    keys,
    config(extra = {}, overrideKeys = {}) {
      const services = ['reviews', ...CALLERS].map((name) => ({
        name,
        endpoints: ['http://127.0.0.1:9'],
        identity: { keys: (overrideKeys[name] ?? [keys[name]!]).map((k) => k.publicJwk) },
      }))
      return { mesh: 'demo', services, ...extra }
    },
    minter(service, key = keys[service]!) {
      const id = `${service}/${key.kid}`
      let m = minters.get(id)
      if (!m) minters.set(id, (m = createIdentityMinter({ service, key: { kid: key.kid, alg: key.alg, key: key.key } })))
      return m
    },
  }
}

export interface Inbound {
  app: Upstream
  amb: RunningAmbassador
  port: number
  ver: number
  /** Signs and applies a config with this `extra`; resolves once it serves. */
  apply(extra?: Record<string, unknown>, keys?: Record<string, TestKey[]>): Promise<void>
  /** A request to the inbound listener, optionally as a caller (with its identity token for `reviews`). */
  call(opts: { method?: string; path?: string; headers?: Record<string, string>; as?: Caller }): Promise<RawResponse>
  close(): Promise<void>
}

export async function startInbound(mesh: Mesh, options: Partial<NodeAmbassadorOptions> = {}): Promise<Inbound> {
  const app = await startUpstream('reviews-app')
  const amb = await startAmbassador({ trust: mesh.signer.trust, mesh: 'demo', service: 'reviews', app: app.url, ...options })
  const port = amb.ports.inbound!
  const inbound: Inbound = {
    app,
    amb,
    port,
    ver: 0,
    async apply(extra, keys) {
      const ver = ++inbound.ver
      const jws = await mesh.signer.sign(mesh.config(extra, keys), ver)
      const result = await amb.ambassador.holder.offer(jws, 'test')
      if (result !== 'applied') throw new Error(`config ${ver} was ${result}`)
      await until(() => amb.ambassador.holder.current?.verified.ver === ver, 2000)
    },
    async call({ method = 'GET', path = '/', headers = {}, as }) {
      const h: Record<string, string> = { host: 'reviews', ...headers }
      if (as) h['legate-identity'] = await mesh.minter(as).token('reviews')
      return send(options.hostname ?? '127.0.0.1', port, { method, path, headers: h })
    },
    async close() {
      await amb.close()
      await app.close()
    },
  }
  return inbound
}

/** The request headers the app saw last. */
export const lastSeen = (inbound: Inbound) => inbound.app.seen.at(-1)

/** One HTTP/1.1 request to `address:port` (IPv4 or IPv6), Host as given. */
export function send(address: string, port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: address, port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: !options.headers?.host }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** The workerd entry bundled with esbuild, as a Miniflare script (the way test/worker/runtimes.test.ts does it). */
export { bundleWorkerd } from '../worker/helpers.ts'
