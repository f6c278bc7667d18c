/**
 * A bench-local Bun entry for legate, used by the `legate-bun` peer only while the project
 * has no Bun entry of its own (worker/entry/bun.ts): the Deno entry's shape (same core,
 * `createAmbassador`, upstream calls with web fetch) served by `Bun.serve`. Under Bun the
 * Node entry cannot forward: `undici` resolves to Bun's built-in stand-in, which has no
 * working Pool. Settings from the environment as the Deno entry: LEGATE_MESH, LEGATE_TRUST,
 * LEGATE_CONFIG_FILE, LEGATE_OUTBOUND, LEGATE_ADMIN, LEGATE_LOG_LEVEL.
 *
 *   bun bench/forwarders/legate-bun-entry.ts
 * (Typed loosely where Bun's globals are used, so `tsc -p .` under Node types stays clean.)
 * @module
 */
import { readFileSync, statSync } from 'node:fs'
import { createTrustSet } from '../../protocol/keys.ts'
import { createAmbassador } from '../../worker/app.ts'
import { createFetchForward } from '../../worker/upstream/forward.ts'
import type { Platform } from '../../worker/platform.ts'
import type { LogLevel } from '../../worker/observe/access-log.ts'

const Bun = (globalThis as any).Bun
const env = (name: string, fallback?: string) => process.env[`LEGATE_${name}`] ?? fallback
const required = (name: string) => {
  const v = env(name)
  if (!v) throw new Error(`LEGATE_${name} is required`)
  return v
}

const platform: Platform = {
  name: 'bun',
  forward: createFetchForward(),
  clientAddress: (c) => (c.env as { remoteAddr?: string } | undefined)?.remoteAddr ?? '',
  waitUntil: (_c, work) => void work.catch(() => {}),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    return { cancel: () => clearInterval(t) }
  },
  now: () => Date.now(),
  log: (line) => console.log(line),
}

const mesh = required('MESH')
const trust = await createTrustSet(JSON.parse(readFileSync(required('TRUST'), 'utf8')), 'LEGATE_TRUST')
const configFile = env('CONFIG_FILE')
const ambassador = createAmbassador({ platform, trust, mesh, control: env('CONTROL'), logLevel: env('LOG_LEVEL', 'info') as LogLevel })
await ambassador.start()
if (configFile) {
  let seen = 0
  const load = async () => {
    const mtime = statSync(configFile).mtimeMs
    if (mtime === seen) return
    seen = mtime
    await ambassador.holder.offer(readFileSync(configFile, 'utf8').trim(), `file ${configFile}`)
  }
  await load()
  platform.setInterval(() => void load().catch((err) => ambassador.holder.noteSourceError(err)), 500)
}
const hostname = env('HOSTNAME', '127.0.0.1')!
const serve = (port: string, fetch: (req: Request, env: unknown) => Response | Promise<Response>) =>
  Bun.serve({ port: Number(port), hostname, fetch: (req: Request, server: any) => fetch(req, { remoteAddr: server.requestIP(req)?.address ?? '' }) })
serve(env('ADMIN', '15000')!, ambassador.admin.fetch)
serve(env('OUTBOUND', '15001')!, ambassador.outbound.fetch)
