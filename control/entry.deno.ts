/**
 * The control worker on Deno (and Deno Deploy), over Deno KV:
 *   deno run --unstable-kv --allow-net --allow-env --allow-read control/entry.deno.ts
 * Settings, as for `legate control`, from the environment:
 *   LEGATE_TRUST            publisher JWKS file (or the JWKS itself, as JSON)
 *   LEGATE_PORT             default 8787;  LEGATE_HOST default 0.0.0.0
 *   LEGATE_KV               Deno KV path or URL (default: Deno's own default database)
 *   LEGATE_PUBLISH_TOKEN    optional;  LEGATE_MAX_CONFIG_BYTES optional (default 1 MiB)
 * @module
 */
import { createTrustSet } from '../protocol/index.ts'
import { createControl } from './app.ts'
import { denoKvStore } from './stores/deno-kv.ts'

const env = (name: string) => Deno.env.get(name) || undefined
const trustSetting = env('LEGATE_TRUST')
if (!trustSetting) throw new Error('LEGATE_TRUST must name the publisher JWKS file')
const trustText = trustSetting.trim().startsWith('{') ? trustSetting : await Deno.readTextFile(trustSetting)
const trust = await createTrustSet(JSON.parse(trustText), 'LEGATE_TRUST')
const maxConfigBytes = env('LEGATE_MAX_CONFIG_BYTES') ? Number(env('LEGATE_MAX_CONFIG_BYTES')) : undefined

const kv = await Deno.openKv(env('LEGATE_KV'))
const app = createControl({ store: denoKvStore({ kv }), trust, publishToken: env('LEGATE_PUBLISH_TOKEN'), maxConfigBytes })

Deno.serve(
  {
    port: Number(env('LEGATE_PORT') ?? 8787),
    hostname: env('LEGATE_HOST') ?? '0.0.0.0',
    onListen: ({ hostname, port }) => console.log(`legate control listening on http://${hostname}:${port} (store deno-kv, ${trust.size} trusted key${trust.size === 1 ? '' : 's'})`),
  },
  app.fetch,
)
