/**
 * Fixtures for the ambassador tests: real upstream servers on 127.0.0.1, signed configs,
 * and an ambassador on free ports. Everything returned has a `close()`; tests call it.
 * @module
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signConfig, type TrustSet } from '../../protocol/index.ts'
import { makeKey, trustOf, type TestKey } from '../helpers/keys.ts'
import { startNodeAmbassador, type NodeAmbassadorOptions, type RunningAmbassador } from '../../worker/entry/node.ts'

export interface Upstream {
  name: string
  url: string
  port: number
  /** Requests seen, newest last (method, url, headers). */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>
  close(): Promise<void>
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void

/** An upstream that answers JSON `{name, method, url, headers}` unless `handler` does something else. */
export function startUpstream(name: string, handler?: UpstreamHandler): Promise<Upstream> {
  const seen: Upstream['seen'] = []
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
    if (seen.length > 1000) seen.shift()
    if (handler) return handler(req, res)
    req.resume()
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers })
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name, connection: 'keep-alive, x-hop', 'x-hop': 'secret', 'keep-alive': 'timeout=5' })
      res.end(body)
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      resolve({
        name,
        url: `http://127.0.0.1:${port}`,
        port,
        seen,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}

export interface Signer {
  key: TestKey
  trust: TrustSet
  sign(config: object, ver: number, extra?: { ttlSeconds?: number; now?: number }): Promise<string>
}

export async function createSigner(kid = 'ops'): Promise<Signer> {
  const key = await makeKey(kid)
  const trust = await trustOf(key)
  return {
    key,
    trust,
    sign: (config, ver, extra = {}) => signConfig(config, { key: key.key, kid: key.kid, alg: key.alg, ver, ...extra }),
  }
}

export const tempDir = (prefix = 'legate-test-') => mkdtempSync(join(tmpdir(), prefix))

/** Writes a file atomically (as an operator's deploy would), so a watcher never reads half of it. */
export function writeAtomic(path: string, text: string) {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}

export function startAmbassador(options: Omit<NodeAmbassadorOptions, 'adminPort' | 'outboundPort' | 'inboundPort'> & Partial<NodeAmbassadorOptions>): Promise<RunningAmbassador> {
  return startNodeAmbassador({ adminPort: 0, outboundPort: 0, inboundPort: 0, logLevel: 'silent', ...options })
}

export interface RawResponse {
  status: number
  headers: IncomingMessage['headers']
  body: string
}

/** A raw HTTP/1.1 request (to set Host, absolute-form targets and hop-by-hop headers freely). */
export function rawRequest(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers, setHost: !options.headers?.host && !options.headers?.Host }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Polls `check` until it is true or `ms` passed (bounded). */
export async function until(check: () => boolean | Promise<boolean>, ms = 5000, step = 20): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, step))
  }
  throw new Error(`condition not met within ${ms} ms`)
}

export const json = async (res: Response) => (await res.json()) as Record<string, any>

/** The workerd entry bundled as wrangler would build it (esm, workerd conditions): the script text for Miniflare. */
export async function bundleWorkerd(): Promise<string> {
  const { build } = await import('esbuild')
  const { readFileSync } = await import('node:fs')
  const out = join(tempDir(), 'worker.js')
  await build({
    entryPoints: [new URL('../../worker/entry/workerd.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    target: 'es2022',
    outfile: out,
    logLevel: 'silent',
  })
  return readFileSync(out, 'utf8')
}
