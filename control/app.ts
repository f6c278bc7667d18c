/**
 * The control worker (CONTRACT §4): one Hono app over a `ConfigStore`, the same on Node,
 * Deno and workerd. It verifies every publish against the pinned publisher keys and the
 * schema before storing it, stores with compare-and-set, and serves the current config with
 * ETags and long-polls. Ambassadors verify again: the control is not trusted for integrity,
 * only for availability and ordering.
 *
 * @example
 * const app = createControl({ store: memoryStore(), trust, publishToken: 's3cret' })
 * export default app // or serve({ fetch: app.fetch })
 * @module
 */
import { Hono, type Context } from 'hono'
// Direct module imports rather than protocol/index.ts: the Worker bundle then leaves out
// what a control never uses (the YAML parser, the JSON Schema generator).
import { LegateError, type LegateErrorCode } from '../protocol/errors.ts'
import { NAME_RE } from '../protocol/schema.ts'
import { verifyConfig } from '../protocol/envelope/verify.ts'
import { DEFAULT_MAX_CONFIG_BYTES } from '../protocol/envelope/claims.ts'
import type { TrustSet } from '../protocol/keys.ts'
import type { ConfigStore, CurrentConfig } from './store.ts'
import { readCappedText } from './body.ts'
import { createTokenCheck } from './token.ts'
import { waitForNewer } from './long-poll.ts'

export interface ControlOptions {
  store: ConfigStore
  /** Publisher keys: only configs signed by one of them are stored. */
  trust: TrustSet
  /** When set, `PUT` needs `Authorization: Bearer <token>`. */
  publishToken?: string
  /** Refuse larger signed configs (default 1 MiB), before decoding them. */
  maxConfigBytes?: number
  /** Longest `?wait=` honoured, in seconds (default and at most 60); longer asks are clamped. */
  maxWaitSeconds?: number
}

export const MAX_WAIT_SECONDS = 60
/** A JWS followed by a newline (as `legate sign` writes it) is still within the cap. */
const TRAILING_SLACK = 2

export function statusOf(code: LegateErrorCode): number {
  switch (code) {
    case 'invalid_config':
      return 400
    case 'unauthorized':
      return 401
    case 'not_found':
      return 404
    case 'version_not_newer':
      return 409
    case 'too_large':
      return 413
    case 'store_error':
    case 'unreachable':
    case 'io_error':
      return 503
    default:
      // Every other §2 code (signature, claims, form): the request was understood and refused.
      return 422
  }
}

const notFound = (what: string) => new LegateError('not_found', what)

/** Mesh names are config names, which also keeps them safe as file names and keys. */
function meshParam(c: Context): string {
  const mesh = c.req.param('mesh') ?? ''
  if (!NAME_RE.test(mesh)) throw notFound(`no mesh "${mesh}" (mesh names are lowercase DNS labels)`)
  return mesh
}

/** The versions named by If-None-Match (`"7"`, `W/"7"`, lists), or `*`. */
function parseIfNoneMatch(header: string | undefined): Set<string> | '*' | undefined {
  if (header === undefined || header.trim() === '') return undefined
  if (header.trim() === '*') return '*'
  const tags = new Set<string>()
  for (const m of header.matchAll(/(?:W\/)?"([^"]*)"/g)) tags.add(m[1]!)
  return tags
}

function configResponse(c: Context, current: CurrentConfig) {
  c.header('ETag', `"${current.version}"`)
  c.header('Cache-Control', 'no-cache')
  c.header('Content-Type', 'application/jwt')
  return c.body(current.jws, 200)
}

function notModified(c: Context, version: number) {
  c.header('ETag', `"${version}"`)
  c.header('Cache-Control', 'no-cache')
  return c.body(null, 304)
}

export function createControl(options: ControlOptions): Hono {
  const { store, trust } = options
  const maxBytes = options.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES
  const maxWait = Math.min(options.maxWaitSeconds ?? MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)
  const checkToken = options.publishToken ? createTokenCheck(options.publishToken) : undefined
  const app = new Hono()

  app.get('/healthz', (c) => c.json({ status: 'ok' }))

  app.put('/v1/meshes/:mesh/config', async (c) => {
    const mesh = meshParam(c)
    if (checkToken && !(await checkToken(c.req.header('authorization')))) {
      const err = new LegateError('unauthorized', c.req.header('authorization') ? 'the publish token is wrong' : 'a publish token is required (Authorization: Bearer <token>)')
      return c.json(err.toJSON(), 401, { 'WWW-Authenticate': 'Bearer realm="legate-control"' })
    }
    const text = (await readCappedText(c.req.raw, maxBytes, 'signed config', TRAILING_SLACK)).trim()
    const verified = await verifyConfig(text, { trust, mesh, maxBytes })
    const result = await store.putIfNewer(mesh, verified.ver, verified.jws, {
      version: verified.ver,
      digest: verified.digest,
      iss: verified.iss,
      iat: verified.iat,
      exp: verified.exp,
      publishedAt: new Date().toISOString(),
    })
    if (!result.ok) {
      return c.json(
        {
          error: 'version_not_newer',
          message: `version ${verified.ver} is not newer than the current version ${result.current} of mesh "${mesh}"`,
          current: result.current,
        },
        409,
      )
    }
    c.header('Location', `/v1/meshes/${mesh}/versions/${verified.ver}`)
    return c.json({ version: verified.ver, digest: verified.digest }, 201)
  })

  app.get('/v1/meshes/:mesh/config', async (c) => {
    const mesh = meshParam(c)
    const waitParam = c.req.query('wait')
    let waitSeconds = 0
    if (waitParam !== undefined) {
      if (!/^[0-9]+$/.test(waitParam)) throw new LegateError('malformed', `wait must be a whole number of seconds, not "${waitParam}"`)
      waitSeconds = Math.min(Number(waitParam), maxWait)
    }
    const inm = parseIfNoneMatch(c.req.header('if-none-match'))
    const current = await store.current(mesh)
    const matches = current !== undefined && inm !== undefined && (inm === '*' || inm.has(String(current.version)))
    if (current && !matches) return configResponse(c, current)
    if (waitSeconds > 0) {
      const newer = await waitForNewer({ store, mesh, known: current?.version, waitMs: waitSeconds * 1000, signal: c.req.raw.signal })
      if (newer) return configResponse(c, newer)
    }
    if (current) return notModified(c, current.version)
    throw notFound(`mesh "${mesh}" has no config yet`)
  })

  app.get('/v1/meshes/:mesh/versions', async (c) => c.json(await store.listVersions(meshParam(c))))

  app.get('/v1/meshes/:mesh/versions/:version', async (c) => {
    const mesh = meshParam(c)
    const param = c.req.param('version')
    const ver = /^[0-9]{1,16}$/.test(param) ? Number(param) : NaN
    const jws = Number.isSafeInteger(ver) && ver >= 1 ? await store.getVersion(mesh, ver) : undefined
    if (jws === undefined) throw notFound(`mesh "${mesh}" has no version ${param}`)
    c.header('ETag', `"${ver}"`)
    c.header('Content-Type', 'application/jwt')
    // Stored versions are immutable.
    c.header('Cache-Control', 'public, max-age=31536000, immutable')
    return c.body(jws, 200)
  })

  app.notFound((c) => c.json(notFound(`no route for ${c.req.method} ${new URL(c.req.url).pathname}`).toJSON(), 404))

  app.onError((err, c) => {
    if (err instanceof LegateError) return c.json(err.toJSON(), statusOf(err.code) as 400)
    console.error('legate control: internal error', err)
    return c.json({ error: 'internal', message: 'internal error' }, 500)
  })

  return app
}
