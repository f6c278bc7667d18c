/**
 * Starts the ambassador once per runtime, all from the same published config:
 *   node     `node bin/legate.js ambassador --control …`
 *   bun      `bun bin/legate.js ambassador …` (the same flags)
 *   deno     `deno run -A bin/legate.js ambassador …` (the same flags)
 *   workerd  worker/entry/workerd.ts bundled, in Miniflare on a real port, the control
 *            reached through the LEGATE_CONTROL service binding
 * Each answers `send(via, request)` over a real socket on 127.0.0.1.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Miniflare } from 'miniflare'
import { bundleWorkerd, rawRequest, tempDir, until } from '../worker/helpers.ts'
import type { Req, Res, Runtime, Via } from './cases.ts'

export const ROOT = new URL('../../', import.meta.url).pathname
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)

export interface Target {
  runtime: Runtime
  send(via: Via, req: Req): Promise<Res>
  close(): Promise<void>
}

export interface TargetOptions {
  control: string
  /** The pinned JWKS the ambassadors trust. */
  trust: object
  /** The local app behind the inbound listener (the `echo` upstream). */
  app: string
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })

const send = (port: number, req: Req, prefix = '') =>
  rawRequest(port, { method: req.method, path: prefix + req.path, headers: { host: req.host ?? 'admin.local', ...(req.headers ?? {}) }, body: req.body }) as Promise<Res>

const commands: Record<Exclude<Runtime, 'workerd'>, string[]> = {
  node: [process.execPath, 'bin/legate.js'],
  bun: [bin('bun'), 'bin/legate.js'],
  deno: [bin('deno'), 'run', '-A', 'bin/legate.js'],
}

export async function startCliTarget(runtime: Exclude<Runtime, 'workerd'>, options: TargetOptions): Promise<Target> {
  const dir = tempDir('legate-conf-')
  const trustFile = join(dir, 'trust.json')
  writeFileSync(trustFile, JSON.stringify(options.trust))
  const [inbound, outbound, admin] = [await freePort(), await freePort(), await freePort()]
  const [cmd, ...pre] = commands[runtime]
  const args = [...pre, 'ambassador', '--control', options.control, '--mesh', 'demo', '--trust', trustFile, '--service', 'echo', '--app', options.app, '--inbound', String(inbound), '--outbound', String(outbound), '--admin', String(admin), '--log-level', 'warn']
  const child: ChildProcess = spawn(cmd!, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: { ...process.env, LEGATE_LOG_LEVEL: 'warn', NO_COLOR: '1' } })
  let stderr = ''
  child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-4000)))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const close = async () => {
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL')
  }
  try {
    await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
  } catch (err) {
    await close()
    throw new Error(`${runtime} ambassador did not become ready: ${(err as Error).message}; stderr: ${stderr}`)
  }
  const ports: Record<Via, number> = { route: outbound, policy: inbound, admin }
  return { runtime, send: (via, req) => send(ports[via], req), close }
}


export async function startWorkerdTarget(options: TargetOptions): Promise<Target> {
  const control = options.control
  const mf = new Miniflare({
    modules: true,
    script: await bundleWorkerd(),
    compatibilityDate: '2026-04-20',
    host: '127.0.0.1',
    port: await freePort(),
    bindings: { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(options.trust), LEGATE_REFRESH_SECONDS: '0.2', LEGATE_LOG_LEVEL: 'silent' },
    // The control worker as a service binding; here it is the Node control the others poll.
    serviceBindings: {
      LEGATE_CONTROL: async (request: Request) => {
        const url = new URL(request.url)
        return (await fetch(control + url.pathname + url.search, { headers: request.headers as unknown as HeadersInit })) as never
      },
    },
  })
  let port: number
  try {
    port = Number((await mf.ready).port)
    await until(async () => (await send(port, { path: '/readyz', host: 'gw.local' }, '/__legate')).status === 200, 30_000, 100)
  } catch (err) {
    await mf.dispose()
    throw err
  }
  return {
    runtime: 'workerd',
    send: (via, req) => (via === 'admin' ? send(port, { ...req, host: 'gw.local' }, '/__legate') : send(port, { ...req, host: req.host ?? 'echo' })),
    close: () => mf.dispose(),
  }
}
