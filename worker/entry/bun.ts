/**
 * The Bun entry: `startBunAmbassador(options)` serves the same core with `Bun.serve`
 * (inbound with `app`, outbound, admin), with the options of the Node entry that make sense
 * off Node. `legate ambassador` uses it under Bun (`npx bun bin/legate.js ambassador …`).
 * Run directly (`bun worker/entry/bun.ts`) it reads the CLI's settings from the environment:
 * LEGATE_MESH, LEGATE_TRUST (JWKS file), LEGATE_CONTROL or LEGATE_CONFIG_FILE, LEGATE_SERVICE,
 * LEGATE_APP, LEGATE_INBOUND/OUTBOUND/ADMIN (15006/15001/15000), LEGATE_STATE, LEGATE_LOG_LEVEL.
 * @module
 */
import { createBunRuntime } from '../platforms/bun/runtime.ts'
import { startServerAmbassador, type RunningServerAmbassador, type ServerAmbassadorOptions } from '../platforms/web/server-ambassador.ts'
import { optionsFromEnv } from '../platforms/web/env-options.ts'

export type { ServerAmbassadorOptions as BunAmbassadorOptions } from '../platforms/web/server-ambassador.ts'

export async function startBunAmbassador(options: ServerAmbassadorOptions): Promise<RunningServerAmbassador> {
  const running = await startServerAmbassador(createBunRuntime(), options)
  // Once, when start-up is over: collect what loading and verifying the config left behind and
  // give the freed memory back (Bun.shrink), instead of carrying it until the heap fills up.
  const bun = (globalThis as { Bun?: { gc(full: boolean): void; shrink?(): void } }).Bun
  if (bun) {
    const t = setTimeout(() => {
      bun.gc(true)
      bun.shrink?.()
    }, 500) as unknown as { unref?(): void }
    t.unref?.()
  }
  return running
}

if ((import.meta as { main?: boolean }).main) {
  const running = await startBunAmbassador(await optionsFromEnv((name) => process.env[name], (path) => createBunRuntime().readText(path)))
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void running.close().then(() => process.exit(0)))
}
