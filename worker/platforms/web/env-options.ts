/**
 * The settings of a directly-run Bun or Deno entry, from `LEGATE_*` variables as the CLI
 * reads them (CONTRACT §3: every flag also reads from `LEGATE_<FLAG>`).
 * @module
 */
import { createTrustSet } from '../../../protocol/keys.ts'
import { isLogLevel, LOG_LEVELS } from '../../observe/access-log.ts'
import type { ServerAmbassadorOptions } from './server-ambassador.ts'

export async function optionsFromEnv(get: (name: string) => string | undefined, read: (path: string) => Promise<string | undefined>): Promise<ServerAmbassadorOptions> {
  const env = (name: string) => get(`LEGATE_${name}`) || undefined
  const file = async (name: string) => {
    const path = env(name)
    if (!path) return undefined
    const text = await read(path)
    if (text === undefined) throw new Error(`LEGATE_${name}: ${path} does not exist`)
    return JSON.parse(text) as unknown
  }
  const port = (name: string, fallback: number) => {
    const n = Number(env(name) ?? fallback)
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`LEGATE_${name} must be a port number`)
    return n
  }
  const mesh = env('MESH')
  if (!mesh || !env('TRUST')) throw new Error('LEGATE_MESH and LEGATE_TRUST are required')
  if (!env('CONTROL') === !env('CONFIG_FILE')) throw new Error('give exactly one of LEGATE_CONTROL or LEGATE_CONFIG_FILE')
  const logLevel = env('LOG_LEVEL') ?? 'info'
  if (!isLogLevel(logLevel)) throw new Error(`LEGATE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)
  const maxConfigBytes = env('MAX_CONFIG_BYTES') ? Number(env('MAX_CONFIG_BYTES')) : undefined
  return {
    mesh,
    trust: await createTrustSet(await file('TRUST'), 'LEGATE_TRUST'),
    control: env('CONTROL'),
    configFile: env('CONFIG_FILE'),
    service: env('SERVICE'),
    app: env('APP'),
    stateDir: env('STATE'),
    identityKey: await file('IDENTITY_KEY'),
    logLevel,
    maxConfigBytes,
    inboundPort: port('INBOUND', 15006),
    outboundPort: port('OUTBOUND', 15001),
    adminPort: port('ADMIN', 15000),
    hostname: env('HOSTNAME'),
  }
}
