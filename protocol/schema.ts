/**
 * The mesh config document (CONTRACT §1) as a strict zod schema. Unknown fields, wrong
 * types and broken references are errors that carry their path. Durations parse to
 * milliseconds and endpoints normalize to `{url, weight}`, so consumers get one shape.
 *
 * Written with `zod/mini`, not classic zod: classic gives every schema instance functions of
 * its own, which costs memory on Bun (in a bundled Bun process after a full GC, a small
 * schema: +6.7 MB RSS with classic, +3.0 MB with mini). For legate-bun this schema in mini
 * holds ~1.5 MB less at 1,000 req/s (bench/bun-tail.ts, alternating runs: 59.5 → 58.2 MB)
 * and validates no slower (bench/protocol.ts). The parser is the same core, so what is
 * accepted, refused and generated as JSON Schema is unchanged.
 * @module
 */
import * as z from 'zod/mini'
import en from 'zod/v4/locales/en.js'
import { DURATION_RE, parseDuration } from './duration.ts'
import { parseCidr } from './cidr.ts'
import { reusableRoute } from './route-reuse.ts'

// zod/mini loads no locale, and without one every issue zod words itself (wrong type, too
// long, …) says only "Invalid input"; classic zod installs English on its own. Its memoizer,
// the other thing classic installs, only serves recursive schemas, and this one has none.
// English is imported by its own path, and zod as a namespace import (`* as z`), so bundlers
// leave out the other 60 locales: `z.locales.en()` kept all of them (~310 KiB of source) in
// the control worker's bundle and in legate-bun's (~1.5 MB RSS on Bun).
z.config(en())

export const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
/** Gateway API hostname, optionally with one leading `*.` label. */
const HOSTNAME_RE = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
/** RFC 9110 token: what a header name may be. */
const HEADER_NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Regexes in a config run on every request: a cap keeps pathological ones out. */
export const MAX_REGEX_LENGTH = 1024

/** gRPC status names in code order: `GRPC_STATUS_NAMES[code]`. */
export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const

/**
 * Refuses the value a transform was given. A zod/mini transform gets the bare parse payload,
 * without classic zod's `ctx.addIssue`; this pushes the issue that one pushed.
 */
function refuse(payload: z.core.ParsePayload, message: string): never {
  payload.issues.push({ code: 'custom', message, input: payload.value })
  return z.NEVER
}

const name = z.string().check(z.regex(NAME_RE, 'must be a lowercase DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'))

// The patterns registered below only reach the generated JSON Schema, so editors flag a bad
// duration, hostname or endpoint as it is typed; zod's own checks (and messages) decide.
const duration = z.pipe(
  z.string().register(z.globalRegistry, { pattern: DURATION_RE.source }),
  z.transform((text: string, ctx) => {
    const ms = parseDuration(text)
    if (ms === undefined) return refuse(ctx, `"${text}" is not a duration (use forms like 500ms, 2s, 1m, 1h30m)`)
    return ms
  }),
)

const positiveDuration = duration.check(z.refine((ms) => ms > 0, 'must be longer than 0s'))

const regex = z.string().check(
  z.maxLength(MAX_REGEX_LENGTH, `regular expression longer than ${MAX_REGEX_LENGTH} characters`),
  z.superRefine((source, ctx) => {
    try {
      new RegExp(source)
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` })
    }
  }),
)

const headerName = z.string().check(z.regex(HEADER_NAME_RE, 'is not a valid HTTP header name'))
const headerValue = z.string().check(z.maxLength(4096), z.refine((v) => !/[\r\n\0]/.test(v), 'must not contain CR, LF or NUL'))

const hostname = z.pipe(
  z.pipe(
    z.string().check(z.maxLength(253)).register(z.globalRegistry, { pattern: HOSTNAME_RE.source.replace(/a-z/g, 'a-zA-Z') }),
    z.transform((h: string) => h.toLowerCase()),
  ),
  z.string().check(z.regex(HOSTNAME_RE, 'is not a valid hostname (a DNS name, optionally starting with "*.")')),
)

const origin = z.pipe(
  z.string().register(z.globalRegistry, { pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\\s]+/?$' }),
  z.transform((text: string, ctx) => {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return refuse(ctx, `"${text}" is not an absolute URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return refuse(ctx, `scheme "${url.protocol}" is not allowed; endpoints are http: or https: origins`)
    }
    if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
      return refuse(ctx, `"${text}" must be an origin only (scheme, host, port), without credentials, path, query or fragment`)
    }
    return url.origin
  }),
)

const weight = z.number().check(z.int(), z.gte(0), z.lte(1_000_000))

// ---------------------------------------------------------------- services

const endpoint = z.union([
  z.pipe(origin, z.transform((url: string) => ({ url, weight: 1 }))),
  z.strictObject({ url: origin, weight: z._default(weight, 1) }),
])

const publicJwk = z
  .looseObject({ kty: z.enum(['OKP', 'EC']), kid: z.string().check(z.minLength(1), z.maxLength(256)), crv: z.string(), x: z.string() })
  .check(
    z.superRefine((jwk, ctx) => {
      if ('d' in jwk) ctx.addIssue({ code: 'custom', message: 'is a private key; the config carries public keys only' })
      // Identity tokens are EdDSA only (CONTRACT §5): say so when the config is written, not
      // when the first request between two services is refused.
      else if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') ctx.addIssue({ code: 'custom', message: `identity tokens are EdDSA: workload keys must be Ed25519 (kty OKP, crv Ed25519), not ${jwk.kty} ${jwk.crv}` })
    }),
  )

const hashKey = z
  .string()
  .check(z.regex(/^(client-ip|header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|cookie:[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/, 'must be client-ip, header:<name> or cookie:<name>'))

export const serviceSchema = z.strictObject({
  name,
  endpoints: z.array(endpoint).check(z.minLength(1, 'a service needs at least one endpoint')),
  loadBalancing: z._default(z.enum(['round-robin', 'least-request', 'random', 'ring-hash']), 'round-robin'),
  /** What ring-hash hashes on (default: the client address). */
  hashKey: z._default(hashKey, 'client-ip'),
  healthCheck: z.optional(
    z.strictObject({
      path: z._default(z.string().check(z.startsWith('/')), '/healthz'),
      interval: z._default(positiveDuration, 5_000),
      timeout: z._default(positiveDuration, 1_000),
      unhealthyThreshold: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 3),
      healthyThreshold: z._default(z.number().check(z.int(), z.gte(1), z.lte(100)), 2),
    }),
  ),
  outlierDetection: z.optional(
    z.strictObject({
      consecutive5xx: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000)), 5),
      interval: z._default(positiveDuration, 10_000),
      baseEjectionTime: z._default(positiveDuration, 30_000),
      maxEjectionPercent: z._default(z.number().check(z.int(), z.gte(0), z.lte(100)), 50),
    }),
  ),
  circuitBreaker: z.optional(
    z.strictObject({
      maxConnections: z._default(z.number().check(z.int(), z.gte(1)), 1024),
      maxPendingRequests: z._default(z.number().check(z.int(), z.gte(0)), 1024),
      maxRequests: z._default(z.number().check(z.int(), z.gte(1)), 1024),
      maxRetries: z._default(z.number().check(z.int(), z.gte(0)), 3),
    }),
  ),
  identity: z.optional(z.strictObject({ keys: z.array(publicJwk).check(z.minLength(1), z.maxLength(16)) })),
  /**
   * How to speak to the endpoints (Gateway API `appProtocol`): `http` (HTTP/1.1, or TLS for
   * https: endpoints), `h2c` (HTTP/2 prior knowledge over cleartext: gRPC), `h2` (HTTP/2 over
   * TLS, ALPN). Omitted: http.
   */
  appProtocol: z.optional(z.enum(['http', 'h2c', 'h2'])),
  /** TLS to https: endpoints: verification is always on; these add a CA, SNI and a client certificate. */
  tls: z.optional(
    z
      .strictObject({
        /** PEM CA bundle trusted for this service (instead of the system roots). */
        ca: z.optional(z.string().check(z.maxLength(1_000_000))),
        /** The same, read from a file by the ambassador (Node only). */
        caFile: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
        /** SNI and the name the certificate must carry (default: the endpoint's host). */
        serverName: z.optional(z.string().check(z.minLength(1), z.maxLength(253))),
        /** Client certificate and key (PEM files, Node only): mTLS to the upstream. */
        certFile: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
        keyFile: z.optional(z.string().check(z.minLength(1), z.maxLength(4096))),
      })
      .check(z.refine((t) => !t.certFile === !t.keyFile, 'certFile and keyFile go together')),
  ),
})

// ------------------------------------------------------------------ routes

const stringMatch = z.strictObject({
  type: z._default(z.enum(['Exact', 'RegularExpression']), 'Exact'),
  name: headerName,
  value: z.string().check(z.maxLength(4096)),
})

const pathMatch = z.strictObject({
  type: z._default(z.enum(['Exact', 'PathPrefix', 'RegularExpression']), 'PathPrefix'),
  value: z._default(z.string().check(z.maxLength(4096)), '/'),
})

export const routeMatchSchema = z.strictObject({
  path: z._default(pathMatch, { type: 'PathPrefix', value: '/' }),
  method: z.optional(z.enum(METHODS)),
  headers: z._default(z.array(stringMatch).check(z.maxLength(16)), []),
  queryParams: z._default(z.array(z.extend(stringMatch, { name: z.string().check(z.minLength(1), z.maxLength(256)) })).check(z.maxLength(16)), []),
})

const headerModifier = z.strictObject({
  set: z._default(z.array(z.strictObject({ name: headerName, value: headerValue })).check(z.maxLength(16)), []),
  add: z._default(z.array(z.strictObject({ name: headerName, value: headerValue })).check(z.maxLength(16)), []),
  remove: z._default(z.array(headerName).check(z.maxLength(16)), []),
})

const pathModifier = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ReplaceFullPath'), replaceFullPath: z.string().check(z.startsWith('/')) }),
  z.strictObject({ type: z.literal('ReplacePrefixMatch'), replacePrefixMatch: z.string().check(z.startsWith('/')) }),
])

const percent = z.number().check(z.gte(0), z.lte(100))

const corsOrigin = z
  .string()
  .check(z.refine((o) => o === '*' || /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(o), 'must be "*" or an origin such as https://app.example.com or https://*.example.com'))

const filter = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('RequestHeaderModifier'), requestHeaderModifier: headerModifier }),
  z.strictObject({ type: z.literal('ResponseHeaderModifier'), responseHeaderModifier: headerModifier }),
  z.strictObject({
    type: z.literal('URLRewrite'),
    urlRewrite: z.strictObject({ hostname: z.optional(hostname), path: z.optional(pathModifier) }),
  }),
  z.strictObject({
    type: z.literal('RequestRedirect'),
    requestRedirect: z.strictObject({
      scheme: z.optional(z.enum(['http', 'https'])),
      hostname: z.optional(hostname),
      port: z.optional(z.number().check(z.int(), z.gte(1), z.lte(65535))),
      path: z.optional(pathModifier),
      statusCode: z._default(z.union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)]), 302),
    }),
  }),
  z.strictObject({
    type: z.literal('RequestMirror'),
    requestMirror: z.strictObject({ backendRef: z.strictObject({ name }), percent: z._default(percent, 100) }),
  }),
  z.strictObject({
    type: z.literal('CORS'),
    cors: z.strictObject({
      allowOrigins: z._default(z.array(corsOrigin).check(z.maxLength(64)), []),
      allowMethods: z._default(z.array(z.union([z.enum(METHODS), z.literal('*')])), []),
      allowHeaders: z._default(z.array(z.union([headerName, z.literal('*')])).check(z.maxLength(64)), []),
      exposeHeaders: z._default(z.array(z.union([headerName, z.literal('*')])).check(z.maxLength(64)), []),
      allowCredentials: z._default(z.boolean(), false),
      maxAge: z._default(z.number().check(z.int(), z.gte(0)), 5),
    }),
  }),
  z.strictObject({
    type: z.literal('Fault'),
    fault: z
      .strictObject({
        delay: z.optional(z.strictObject({ percent, fixedDelay: duration })),
        abort: z.optional(z.strictObject({ percent, status: z.number().check(z.int(), z.gte(200), z.lte(599)) })),
      })
      .check(z.refine((f) => f.delay || f.abort, 'a Fault filter needs delay, abort or both')),
  }),
])

const rule = z.strictObject({
  matches: z._default(z.array(routeMatchSchema).check(z.maxLength(64)), [{ path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }]),
  filters: z._default(z.array(filter).check(z.maxLength(16)), []),
  backendRefs: z._default(z.array(z.strictObject({ name, weight: z._default(weight, 1) })).check(z.maxLength(16)), []),
  timeouts: z.optional(z.strictObject({ request: z.optional(duration), backendRequest: z.optional(duration) })),
  retry: z.optional(
    z.strictObject({
      attempts: z._default(z.number().check(z.int(), z.gte(0), z.lte(10)), 2),
      codes: z._default(z.array(z.number().check(z.int(), z.gte(400), z.lte(599))), [502, 503, 504]),
      /** gRPC statuses that are retried when they arrive in the response head (a trailers-only answer), as Envoy's `retry-on: unavailable`. */
      grpcCodes: z._default(z.array(z.enum(GRPC_STATUS_NAMES)).check(z.maxLength(17)), []),
      backoff: z._default(duration, 25),
    }),
  ),
  /** Request bodies larger than this are refused with 413 (Content-Length at once, streamed bodies when they pass it). */
  maxRequestBodyBytes: z.optional(z.number().check(z.int(), z.gte(0))),
})

export const routeSchema = z.strictObject({
  name,
  hostnames: z.optional(z.array(hostname).check(z.maxLength(16))),
  rules: z.array(rule).check(z.minLength(1, 'a route needs at least one rule'), z.maxLength(64)),
})

// ---------------------------------------------------------------- policies

const cidr = z.string().check(z.refine((c) => parseCidr(c) !== undefined, 'is not an IPv4 or IPv6 address or CIDR block'))
/** Istio path patterns: exact, `prefix*`, `*suffix`, or `*`. */
const pathPattern = z.string().check(z.minLength(1), z.refine((p) => !p.slice(1, -1).includes('*'), 'a "*" may only stand at the start or the end'))

const authorizationRule = z.strictObject({
  from: z.optional(
    z.array(
      z.strictObject({
        services: z.optional(z.array(z.union([name, z.literal('*')]))),
        notServices: z.optional(z.array(name)),
        ipBlocks: z.optional(z.array(cidr)),
        notIpBlocks: z.optional(z.array(cidr)),
      }),
    ),
  ),
  to: z.optional(
    z.array(
      z.strictObject({
        methods: z.optional(z.array(z.string().check(z.minLength(1)))),
        notMethods: z.optional(z.array(z.string().check(z.minLength(1)))),
        paths: z.optional(z.array(pathPattern)),
        notPaths: z.optional(z.array(pathPattern)),
      }),
    ),
  ),
  when: z.optional(
    z.array(z.strictObject({ header: headerName, values: z.optional(z.array(z.string())), notValues: z.optional(z.array(z.string())) })),
  ),
})

const authorizationPolicy = z.strictObject({
  name,
  targets: z.optional(z.array(name)),
  action: z._default(z.enum(['ALLOW', 'DENY']), 'ALLOW'),
  rules: z._default(z.array(authorizationRule), []),
})

const rateLimitKey = z
  .string()
  .check(z.regex(/^(client-ip|source-service|global|header:[!#$%&'*+\-.^_`|~0-9A-Za-z]+)$/, 'must be client-ip, source-service, global or header:<name>'))

const rateLimitPolicy = z.strictObject({
  name,
  targets: z.optional(z.array(name)),
  match: z.optional(routeMatchSchema),
  key: z._default(rateLimitKey, 'client-ip'),
  /** local: one bucket per ambassador; global: one bucket shared through a store (Redis, Durable Object). */
  scope: z._default(z.enum(['local', 'global']), 'local'),
  /** When the global store cannot answer in time: admit (open, the default) or refuse (closed). */
  failureMode: z._default(z.enum(['open', 'closed']), 'open'),
  limit: z.strictObject({
    requests: z.number().check(z.int(), z.gte(1)),
    per: positiveDuration,
    burst: z.optional(z.number().check(z.int(), z.gte(1))),
  }),
})

// -------------------------------------------------------------------- mesh

/**
 * A schema with zod's generated parser (`z.compile`): a valid value is built in one pass with
 * a third of the allocations, and anything that pass refuses is parsed again by zod's own
 * parser, so issues and their paths are exactly zod's. For the services and routes of a large
 * mesh (routes: see route-reuse.ts, which adds reuse between versions). Generated on first use,
 * so importing the schema (every CLI command) does not pay for it; where code generation is
 * not allowed (workerd), `z.compile` hands back the schema itself.
 */
function compiledOnFirstUse<T extends z.ZodMiniType>(schema: T): z.ZodMiniLazy<T> {
  let compiled: T | undefined
  return z.lazy(() => (compiled ??= z.compile(schema)))
}

const meshShape = z.strictObject({
  mesh: name,
  services: z._default(z.array(compiledOnFirstUse(serviceSchema)).check(z.maxLength(10_000)), []),
  routes: z._default(z.array(reusableRoute(routeSchema)).check(z.maxLength(100_000)), []),
  policies: z._default(
    z.strictObject({
      authorization: z._default(z.array(authorizationPolicy), []),
      rateLimits: z._default(z.array(rateLimitPolicy), []),
    }),
    { authorization: [], rateLimits: [] },
  ),
})

type Ctx = z.core.$RefinementCtx

function checkUnique(ctx: Ctx, names: string[], pathOf: (i: number) => (string | number)[], what: string) {
  const seen = new Map<string, number>()
  names.forEach((n, i) => {
    const first = seen.get(n)
    if (first === undefined) seen.set(n, i)
    else ctx.addIssue({ code: 'custom', path: pathOf(i), message: `duplicate ${what} "${n}" (first at index ${first})` })
  })
}

/**
 * Cross-references zod cannot see field by field: names that must exist or be unique.
 * It also runs when other fields already failed (so one pass reports every mistake);
 * a part too broken to read throws here and is skipped, its own issue already stands.
 */
function checkReferences(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  for (const check of [checkNames, checkRoutes, checkPolicies, checkEndpointProtocols]) {
    try {
      check(mesh, ctx)
    } catch {
      // reported by the field's own schema
    }
  }
}

/**
 * How to speak to an endpoint (appProtocol, tls) belongs to the endpoint: connections are
 * pooled per origin, so services that share an origin must agree on it.
 */
function checkEndpointProtocols(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  const seen = new Map<string, { service: string; settings: string }>()
  mesh.services.forEach((s, si) => {
    const settings = JSON.stringify([s.appProtocol ?? 'http', s.tls ?? null])
    s.endpoints.forEach((e, ei) => {
      const first = seen.get(e.url)
      if (!first) return void seen.set(e.url, { service: s.name, settings })
      if (first.settings !== settings) {
        ctx.addIssue({ code: 'custom', path: ['services', si, 'endpoints', ei], message: `${e.url} is also an endpoint of service "${first.service}" with other appProtocol/tls settings; an endpoint has one` })
      }
    })
  })
}

function checkNames(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  checkUnique(ctx, mesh.services.map((s) => s.name), (i) => ['services', i, 'name'], 'service name')
  checkUnique(ctx, mesh.routes.map((r) => r.name), (i) => ['routes', i, 'name'], 'route name')
  checkUnique(ctx, mesh.policies.authorization.map((p) => p.name), (i) => ['policies', 'authorization', i, 'name'], 'policy name')
  checkUnique(ctx, mesh.policies.rateLimits.map((p) => p.name), (i) => ['policies', 'rateLimits', i, 'name'], 'policy name')

  // A workload key may belong to one service only, or a token could speak for two.
  const kidOwner = new Map<string, string>()
  mesh.services.forEach((s, si) =>
    s.identity?.keys.forEach((k, ki) => {
      const owner = kidOwner.get(k.kid)
      if (owner !== undefined) ctx.addIssue({ code: 'custom', path: ['services', si, 'identity', 'keys', ki, 'kid'], message: `kid "${k.kid}" is already a key of service "${owner}"` })
      else kidOwner.set(k.kid, s.name)
    }),
  )
  mesh.services.forEach((s, si) => {
    // An empty list has its own issue (min 1); `[].every` would report it twice.
    if (s.endpoints.length > 0 && s.endpoints.every((e) => e.weight === 0)) ctx.addIssue({ code: 'custom', path: ['services', si, 'endpoints'], message: 'every endpoint has weight 0' })
  })

}

/** A check that a name refers to a service of the mesh. */
function serviceReference(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  const services = new Set(mesh.services.map((s) => s.name))
  return (n: string, path: (string | number)[]) => {
    if (!services.has(n)) ctx.addIssue({ code: 'custom', path, message: `no service named "${n}"` })
  }
}

/**
 * A part of the output that should be a list. `forEach` and friends throw on anything else,
 * and so does this: a broken part stops its check at the same point either way.
 */
function list<T>(value: readonly T[]): readonly T[] {
  if (!Array.isArray(value)) throw new TypeError('not a list')
  return value
}

const rulePath = (ri: number, ki: number, ...rest: (string | number)[]) => ['routes', ri, 'rules', ki, ...rest]

// Loops rather than callbacks, and a path built only for an issue: a config of 10,000 routes
// has tens of thousands of references, and allocating a path for each one that is fine was
// most of this check's time.
function checkRoutes(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  const services = new Set(mesh.services.map((s) => s.name))
  const routes = list(mesh.routes)
  for (let ri = 0; ri < routes.length; ri++) {
    const rules = list(routes[ri]!.rules)
    for (let ki = 0; ki < rules.length; ki++) checkRule(rules[ki]!, ri, ki, services, ctx)
  }
}

function checkRule(rule: RouteRule, ri: number, ki: number, services: ReadonlySet<string>, ctx: Ctx) {
  const refs = list(rule.backendRefs)
  let allZero = refs.length > 0
  for (let bi = 0; bi < refs.length; bi++) {
    const { name, weight } = refs[bi]!
    if (!services.has(name)) ctx.addIssue({ code: 'custom', path: rulePath(ri, ki, 'backendRefs', bi, 'name'), message: `no service named "${name}"` })
    if (weight !== 0) allZero = false
  }
  if (allZero) ctx.addIssue({ code: 'custom', path: rulePath(ri, ki, 'backendRefs'), message: 'every backendRef has weight 0' })
  const filters = list(rule.filters)
  if (filters.length > 0) checkFilters(rule, filters, ri, ki, services, ctx)
  else if (refs.length === 0) ctx.addIssue({ code: 'custom', path: rulePath(ri, ki, 'backendRefs'), message: 'a rule needs backendRefs or a RequestRedirect filter' })
  const matches = list(rule.matches)
  for (let mi = 0; mi < matches.length; mi++) checkMatch(matches[mi]!, ctx, () => rulePath(ri, ki, 'matches', mi))
  const t = rule.timeouts
  if (t?.request && t.backendRequest && t.backendRequest > t.request) {
    ctx.addIssue({ code: 'custom', path: rulePath(ri, ki, 'timeouts', 'backendRequest'), message: 'backendRequest must not be longer than request' })
  }
}

function checkFilters(rule: RouteRule, filters: readonly RouteFilter[], ri: number, ki: number, services: ReadonlySet<string>, ctx: Ctx) {
  const at = (...rest: (string | number)[]) => rulePath(ri, ki, ...rest)
  const types = filters.map((f) => f.type)
  filters.forEach((f, fi) => {
    if (f.type !== 'RequestMirror' && types.indexOf(f.type) !== fi) {
      ctx.addIssue({ code: 'custom', path: at('filters', fi, 'type'), message: `filter ${f.type} may appear once per rule` })
    }
    if (f.type === 'RequestMirror' && !services.has(f.requestMirror.backendRef.name)) {
      ctx.addIssue({ code: 'custom', path: at('filters', fi, 'requestMirror', 'backendRef', 'name'), message: `no service named "${f.requestMirror.backendRef.name}"` })
    }
    const path = f.type === 'URLRewrite' ? f.urlRewrite.path : f.type === 'RequestRedirect' ? f.requestRedirect.path : undefined
    if (path?.type === 'ReplacePrefixMatch' && !rule.matches.every((m) => m.path.type === 'PathPrefix')) {
      ctx.addIssue({ code: 'custom', path: at('filters', fi), message: 'ReplacePrefixMatch needs every match of the rule to be a PathPrefix match' })
    }
  })
  if (types.includes('URLRewrite') && types.includes('RequestRedirect')) {
    ctx.addIssue({ code: 'custom', path: at('filters'), message: 'URLRewrite and RequestRedirect cannot be used together' })
  }
  if (rule.backendRefs.length === 0 && !types.includes('RequestRedirect')) {
    ctx.addIssue({ code: 'custom', path: at('backendRefs'), message: 'a rule needs backendRefs or a RequestRedirect filter' })
  }
}

function checkPolicies(mesh: z.output<typeof meshShape>, ctx: Ctx) {
  const ref = serviceReference(mesh, ctx)
  const policies = [
    ...mesh.policies.authorization.map((p, i) => ({ p, path: ['policies', 'authorization', i] as (string | number)[] })),
    ...mesh.policies.rateLimits.map((p, i) => ({ p, path: ['policies', 'rateLimits', i] as (string | number)[] })),
  ]
  for (const { p, path } of policies) p.targets?.forEach((t, ti) => ref(t, [...path, 'targets', ti]))
  mesh.policies.authorization.forEach((p, pi) =>
    p.rules.forEach((r, ri) =>
      r.from?.forEach((f, fi) => {
        const at = ['policies', 'authorization', pi, 'rules', ri, 'from', fi]
        f.services?.forEach((s, si) => s !== '*' && ref(s, [...at, 'services', si]))
        f.notServices?.forEach((s, si) => ref(s, [...at, 'notServices', si]))
      }),
    ),
  )
  mesh.policies.rateLimits.forEach((p, pi) => {
    if (p.match) checkMatch(p.match, ctx, () => ['policies', 'rateLimits', pi, 'match'])
  })
}

/** `path` gives the match's own path, built only when there is an issue to report. */
function checkMatch(m: z.output<typeof routeMatchSchema>, ctx: Ctx, path: () => (string | number)[]) {
  const value = m.path.value
  if (m.path.type === 'RegularExpression') {
    const r = regex.safeParse(value)
    if (!r.success) ctx.addIssue({ code: 'custom', path: [...path(), 'path', 'value'], message: r.error.issues[0]!.message })
  } else if (!value.startsWith('/')) {
    ctx.addIssue({ code: 'custom', path: [...path(), 'path', 'value'], message: 'must start with "/"' })
  } else if (NOT_NORMALIZED_RE.test(value) && !(m.path.type === 'Exact' && value === '/')) {
    ctx.addIssue({ code: 'custom', path: [...path(), 'path', 'value'], message: 'must be a normalized path without "//", "/./", "/../", "%", "?" or "#"' })
  }
  checkValueRegexes(list(m.headers), 'headers', ctx, path)
  checkValueRegexes(list(m.queryParams), 'queryParams', ctx, path)
}

const NOT_NORMALIZED_RE = /\/\/|\/\.\.?(\/|$)|[?#%]/

function checkValueRegexes(checks: readonly { type: string; value: string }[], field: string, ctx: Ctx, path: () => (string | number)[]) {
  for (let hi = 0; hi < checks.length; hi++) {
    const h = checks[hi]!
    if (h.type !== 'RegularExpression') continue
    const r = regex.safeParse(h.value)
    if (!r.success) ctx.addIssue({ code: 'custom', path: [...path(), field, hi, 'value'], message: r.error.issues[0]!.message })
  }
}

export const meshConfigSchema = meshShape.check(
  z.superRefine(checkReferences, {
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  }),
)

/** The config document as an operator writes it (YAML or JSON). */
export type MeshConfigInput = z.input<typeof meshConfigSchema>
/** The normalized config: defaults filled in, durations in milliseconds, endpoints as `{url, weight}`. */
export type MeshConfig = z.output<typeof meshConfigSchema>
export type ServiceConfig = MeshConfig['services'][number]
export type RouteConfig = MeshConfig['routes'][number]
export type RouteRule = RouteConfig['rules'][number]
export type RouteMatch = z.output<typeof routeMatchSchema>
export type RouteFilter = RouteRule['filters'][number]
export type AuthorizationPolicy = MeshConfig['policies']['authorization'][number]
export type RateLimitPolicy = MeshConfig['policies']['rateLimits'][number]
