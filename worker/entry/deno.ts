/**
 * The Deno entry: `startDenoAmbassador(options)` serves the same core with `Deno.serve`
 * (inbound with `app`, outbound, admin). `legate ambassador` uses it under Deno
 * (`npx deno run -A cli/main.ts ambassador …`). Run directly
 * (`npx deno run -A worker/entry/deno.ts`) it reads the CLI's settings from the environment:
 * LEGATE_MESH, LEGATE_TRUST (JWKS file), LEGATE_CONTROL or LEGATE_CONFIG_FILE, LEGATE_SERVICE,
 * LEGATE_APP, LEGATE_INBOUND/OUTBOUND/ADMIN (15006/15001/15000), LEGATE_STATE, LEGATE_LOG_LEVEL.
 * @module
 */
import { createDenoRuntime } from '../platforms/deno/runtime.ts'
import { startServerAmbassador, type RunningServerAmbassador, type ServerAmbassadorOptions } from '../platforms/web/server-ambassador.ts'
import { optionsFromEnv } from '../platforms/web/env-options.ts'

export type { ServerAmbassadorOptions as DenoAmbassadorOptions } from '../platforms/web/server-ambassador.ts'

declare const Deno: { env: { get(name: string): string | undefined }; addSignalListener(signal: string, fn: () => void): void; exit(code: number): never }

export function startDenoAmbassador(options: ServerAmbassadorOptions): Promise<RunningServerAmbassador> {
  return startServerAmbassador(createDenoRuntime(), options)
}

if ((import.meta as { main?: boolean }).main) {
  const running = await startDenoAmbassador(await optionsFromEnv((name) => Deno.env.get(name), (path) => createDenoRuntime().readText(path)))
  for (const signal of ['SIGTERM', 'SIGINT']) Deno.addSignalListener(signal, () => void running.close().then(() => Deno.exit(0)))
}
