/**
 * Fixtures for the resilience acceptance tests (issue 6): upstream servers that can be
 * told to answer, fail, hang, reset or answer slowly, be killed and come back on the same
 * port; an ambassador started on a signed mesh config; and a paced load generator.
 * @module
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Pool } from 'undici'
import { createSigner, startAmbassador, tempDir, until, type Signer } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import type { AmbassadorOptions } from '../../worker/app.ts'

export { until }

export type Mode = 'ok' | 'fail' | 'hang' | 'reset' | { slow: number }

export interface FlakyUpstream {
  name: string
  url: string
  port: number
  /** How /healthz answers (separately from traffic). */
  health: 'ok' | 'fail'
  mode: Mode
  /** Traffic requests seen (health checks not counted). */
  hits: number
  healthHits: number
  /** For requests met in 'hang' mode: ms from arrival until the ambassador gave up on them. */
  hangDurations: number[]
  /** Request bodies received in full, as text (the last 100). */
  bodies: string[]
  /** TCP connections open now, and the most ever open at once. */
  readonly openSockets: number
  maxOpenSockets: number
  /** Closes the listener and destroys every connection: the endpoint is gone. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  revive(): Promise<void>
  close(): Promise<void>
}

export async function startFlaky(name: string): Promise<FlakyUpstream> {
  const sockets = new Set<Socket>()
  const hanging = new Set<() => void>()
  let server: Server
  const u: FlakyUpstream = {
    name,
    url: '',
    port: 0,
    health: 'ok',
    mode: 'ok',
    hits: 0,
    healthHits: 0,
    hangDurations: [],
    bodies: [],
    get openSockets() {
      return sockets.size
    },
    maxOpenSockets: 0,
    kill: () =>
      new Promise<void>((resolve) => {
        for (const h of hanging) h()
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      }),
    revive: () => listen(u.port),
    close: async () => {
      if (server.listening) await u.kill()
    },
  }

  function listen(port: number) {
    server = createServer((req, res) => {
      if (req.url === '/healthz') {
        u.healthHits++
        res.writeHead(u.health === 'ok' ? 200 : 503, { 'content-length': '0' }).end()
        return
      }
      u.hits++
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        u.bodies.push(Buffer.concat(chunks).toString('latin1'))
        if (u.bodies.length > 100) u.bodies.shift()
      })
      const mode = u.mode
      const answer = () => {
        if (res.destroyed) return
        const body = JSON.stringify({ name })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name }).end(body)
      }
      if (mode === 'ok') answer()
      else if (mode === 'fail') res.writeHead(503, { 'content-length': '4', 'x-upstream': name }).end('fail')
      else if (mode === 'reset') req.socket.destroy()
      else if (mode === 'hang') {
        const end = () => res.destroy()
        const since = performance.now()
        hanging.add(end)
        res.on('close', () => {
          if (hanging.delete(end)) u.hangDurations.push(performance.now() - since)
        })
      } else {
        const t = setTimeout(answer, mode.slow)
        res.on('close', () => clearTimeout(t))
      }
    })
    server.on('connection', (s: Socket) => {
      sockets.add(s)
      u.maxOpenSockets = Math.max(u.maxOpenSockets, sockets.size)
      s.on('close', () => sockets.delete(s))
    })
    return new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  }

  await listen(0)
  u.port = (server!.address() as AddressInfo).port
  u.url = `http://127.0.0.1:${u.port}`
  return u
}

/** Starts an ambassador on a config signed as version 1; resolves once it is applied. `signer` signs later versions. */
export async function startMesh(config: object, extra: Partial<AmbassadorOptions> = {}): Promise<RunningAmbassador & { signer: Signer }> {
  const signer = await createSigner()
  const file = join(tempDir(), 'config.jws')
  writeFileSync(file, await signer.sign({ mesh: 'demo', ...config }, 1))
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file, ...extra })
  await until(() => amb.ambassador.holder.current !== undefined)
  return Object.assign(amb, { signer })
}

export interface LoadResult {
  sent: number
  /** Count by status; 0 for a transport error. */
  statuses: Map<number, number>
  /** Client requests not answered 2xx, with the ms since start at which each one ended. */
  failures: number[]
  /** By the x-upstream header. */
  byUpstream: Map<string, number>
  latencies: number[]
}

export interface LoadOptions {
  port: number
  host: string
  rps: number
  durationMs: number
  path?: string
  headers?: (i: number) => Record<string, string>
  /** Called once per tick with the ms since start (to kill an endpoint mid-run, ...). */
  onTick?: (elapsed: number) => void
  connections?: number
}

/** Paced open-loop load: `rps` requests a second for `durationMs`, each awaited before the result. */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(`http://127.0.0.1:${o.port}`, { connections: o.connections ?? 64, pipelining: 1 })
  const r: LoadResult = { sent: 0, statuses: new Map(), failures: [], byUpstream: new Map(), latencies: [] }
  const inFlight: Promise<void>[] = []
  const start = performance.now()
  const tick = 10
  try {
    while (performance.now() - start < o.durationMs) {
      const elapsed = performance.now() - start
      o.onTick?.(elapsed)
      // Catch up to the schedule, so a slow tick does not lower the rate.
      const due = Math.floor((elapsed * o.rps) / 1000)
      while (r.sent < due) {
        const i = r.sent++
        const t0 = performance.now()
        inFlight.push(
          pool
            .request({ path: o.path ?? '/', method: 'GET', headers: { host: o.host, ...o.headers?.(i) } })
            .then(async (res) => {
              await res.body.dump()
              return { status: res.statusCode, upstream: String(res.headers['x-upstream'] ?? '') }
            })
            .catch(() => ({ status: 0, upstream: '' }))
            .then(({ status, upstream }) => {
              const now = performance.now()
              r.latencies.push(now - t0)
              r.statuses.set(status, (r.statuses.get(status) ?? 0) + 1)
              if (status < 200 || status > 299) r.failures.push(now - start)
              if (upstream) r.byUpstream.set(upstream, (r.byUpstream.get(upstream) ?? 0) + 1)
            }),
        )
      }
      await new Promise((res) => setTimeout(res, tick))
    }
    await Promise.all(inFlight)
  } finally {
    await pool.close()
  }
  return r
}

export const percentile = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

/** Asserts-friendly: is `observed` within `k` binomial standard deviations of n × p? */
export function withinSd(observed: number, n: number, p: number, k = 5): { ok: boolean; expected: number; sd: number } {
  const sd = Math.sqrt(n * p * (1 - p))
  return { ok: Math.abs(observed - n * p) <= k * sd, expected: n * p, sd }
}
