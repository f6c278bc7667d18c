/**
 * The control worker on Cloudflare Workers (`wrangler deploy --env control`): the same app
 * over the KV + Durable Object store. Bindings and vars (wrangler.toml `[env.control]`):
 *   LEGATE_KV              KV namespace: meshes/<mesh>/current and …/versions/<ver>
 *   CONTROL_MESH           Durable Object namespace of class ControlMesh (one per mesh)
 *   LEGATE_TRUST           the publisher JWKS, as JSON (public keys; a var or a secret)
 *   LEGATE_PUBLISH_TOKEN   optional; set it as a secret (`wrangler secret put … --env control`)
 *   LEGATE_MAX_CONFIG_BYTES optional size cap (default 1 MiB)
 * @module
 */
import type { Hono } from 'hono'
import { LegateError } from '../protocol/errors.ts'
import { createTrustSet } from '../protocol/keys.ts'
import { createControl } from './app.ts'
import { kvDurableObjectStore, type ControlMeshEnv, type DurableObjectNamespaceLike } from './stores/kv-durable-object.ts'

export { ControlMesh } from './stores/kv-durable-object.ts'

interface Env extends ControlMeshEnv {
  CONTROL_MESH: DurableObjectNamespaceLike
  LEGATE_TRUST?: string
  LEGATE_PUBLISH_TOKEN?: string
  LEGATE_MAX_CONFIG_BYTES?: string
}

// Built once per isolate: importing the trusted keys is the only costly step.
let built: { env: Env; app: Promise<Hono> } | undefined

async function build(env: Env): Promise<Hono> {
  let jwks: unknown
  try {
    jwks = JSON.parse(env.LEGATE_TRUST ?? '')
  } catch {
    throw new LegateError('malformed', 'LEGATE_TRUST must be the publisher JWKS as JSON ({"keys": [...]})')
  }
  const trust = await createTrustSet(jwks, 'LEGATE_TRUST')
  const maxConfigBytes = env.LEGATE_MAX_CONFIG_BYTES ? Number(env.LEGATE_MAX_CONFIG_BYTES) : undefined
  if (maxConfigBytes !== undefined && !(Number.isSafeInteger(maxConfigBytes) && maxConfigBytes > 0)) throw new LegateError('malformed', 'LEGATE_MAX_CONFIG_BYTES must be a positive integer')
  return createControl({ store: kvDurableObjectStore({ namespace: env.CONTROL_MESH }), trust, publishToken: env.LEGATE_PUBLISH_TOKEN || undefined, maxConfigBytes })
}

export default {
  async fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    if (!built || built.env !== env) built = { env, app: build(env) }
    let app: Hono
    try {
      app = await built.app
    } catch (err) {
      built = undefined
      const body = err instanceof LegateError ? err.toJSON() : { error: 'internal', message: String(err) }
      return Response.json({ ...body, message: `control is misconfigured: ${body.message}` }, { status: 500 })
    }
    return app.fetch(request, env, ctx as never)
  },
}
