/**
 * The Deno entry: `npx deno run -A worker/entry/deno.ts` with the same settings as the CLI,
 * from the environment: LEGATE_MESH, LEGATE_TRUST (JWKS file), LEGATE_CONTROL or
 * LEGATE_CONFIG_FILE, LEGATE_OUTBOUND (15001), LEGATE_ADMIN (15000), LEGATE_LOG_LEVEL.
 * The core is the same; upstream calls use fetch.
 * @module
 */
import { createTrustSet } from '../../protocol/keys.ts'
import { createAmbassador } from '../app.ts'
import { createFetchForward } from '../upstream/forward.ts'
import type { Platform } from '../platform.ts'
import type { LogLevel } from '../observe/access-log.ts'

// Just the Deno globals used here (as hono's adapter/deno/deno.d.ts does), so tsc checks this file too.
declare const Deno: {
  env: { get(name: string): string | undefined }
  readTextFile(path: string): Promise<string>
  stat(path: string): Promise<{ mtime: Date | null }>
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): { finished: Promise<void> }
}

const env = (name: string, fallback?: string) => Deno.env.get(`LEGATE_${name}`) ?? fallback
const required = (name: string) => env(name) ?? (() => { throw new Error(`LEGATE_${name} is required`) })()

const platform: Platform = {
  name: 'deno',
  forward: createFetchForward(),
  clientAddress: (c) => (c.env as { remoteAddr?: { hostname: string } } | undefined)?.remoteAddr?.hostname ?? '',
  waitUntil: (_c, work) => void work.catch(() => {}),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    return { cancel: () => clearInterval(t) }
  },
  now: () => Date.now(),
  log: (line) => console.log(line),
}

const mesh = required('MESH')
const trust = await createTrustSet(JSON.parse(await Deno.readTextFile(required('TRUST'))), 'LEGATE_TRUST')
const configFile = env('CONFIG_FILE')
const ambassador = createAmbassador({ platform, trust, mesh, control: env('CONTROL'), logLevel: env('LOG_LEVEL', 'info') as LogLevel })
await ambassador.start()
if (configFile) {
  let seen = 0
  const load = async () => {
    const mtime = (await Deno.stat(configFile)).mtime?.getTime() ?? 0
    if (mtime === seen) return
    seen = mtime
    await ambassador.holder.offer((await Deno.readTextFile(configFile)).trim(), `file ${configFile}`)
  }
  await load()
  platform.setInterval(() => void load().catch((err) => ambassador.holder.noteSourceError(err)), 500)
}
const hostname = env('HOSTNAME', '127.0.0.1')!
const serve = (port: string, fetch: (req: Request, info: unknown) => Response | Promise<Response>, name: string) =>
  Deno.serve({ port: Number(port), hostname, onListen: (a) => console.log(JSON.stringify({ level: 'info', msg: `${name} listening`, port: a.port })) }, (req, info) =>
    fetch(req, { remoteAddr: info.remoteAddr }),
  )
serve(env('ADMIN', '15000')!, ambassador.admin.fetch, 'admin')
serve(env('OUTBOUND', '15001')!, ambassador.outbound.fetch, 'outbound')
