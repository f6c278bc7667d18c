/**
 * The mesh every runtime serves in the conformance suite: published once to one control,
 * read from it by the Node, Bun and Deno ambassadors (long-poll) and the workerd one
 * (service binding). Version 2 moves one rule; version 3 is signed by a key the control
 * trusts and the ambassadors do not (refused, last-known-good kept).
 * @module
 */
export interface MeshUrls {
  echo: string
  v2: string
  /** A port nothing listens on. */
  dead: string
  /** Accepts and never answers. */
  hang: string
  /** Answers `{name: 'body', length, sha256}` of the request body. */
  body: string
}

/** `frontendKey`: the public workload JWK of the `frontend` service (its identity tokens). */
export function meshConfig(urls: MeshUrls, version: 1 | 2, frontendKey: object) {
  return {
    mesh: 'demo',
    services: [
      { name: 'echo', endpoints: [urls.echo] },
      { name: 'v2', endpoints: [urls.v2] },
      { name: 'dead', endpoints: [urls.dead] },
      { name: 'hang', endpoints: [urls.hang] },
      { name: 'body', endpoints: [urls.body] },
      { name: 'frontend', endpoints: [urls.echo], identity: { keys: [frontendKey] } },
    ],
    routes: [
      {
        name: 'web',
        hostnames: ['web.example'],
        rules: [
          { matches: [{ path: { type: 'Exact', value: '/exact' } }], backendRefs: [{ name: version === 1 ? 'v2' : 'echo' }] },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-added', value: 'yes' }], remove: ['x-strip'] } },
              { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-resp', value: 'r' }] } },
            ],
            backendRefs: [{ name: 'echo' }],
          },
          { matches: [{ path: { type: 'PathPrefix', value: '/api/v2' } }], backendRefs: [{ name: 'v2' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: '1' }] }], backendRefs: [{ name: 'v2' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'DELETE' }], backendRefs: [{ name: 'v2' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }], backendRefs: [{ name: 'echo' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/moved' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'new.example', statusCode: 301 } }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/fault' } }], filters: [{ type: 'Fault', fault: { abort: { percent: 100, status: 503 } } }], backendRefs: [{ name: 'echo' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/down' } }], backendRefs: [{ name: 'dead' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/slow' } }], timeouts: { request: '300ms' }, backendRefs: [{ name: 'hang' }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/upload' } }], backendRefs: [{ name: 'body' }] },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/cors' } }],
            filters: [{ type: 'CORS', cors: { allowOrigins: ['https://app.example'], allowMethods: ['GET', 'PUT'], allowHeaders: ['x-token'], maxAge: 600 } }],
            backendRefs: [{ name: 'echo' }],
          },
        ],
      },
      { name: 'wild', hostnames: ['*.wild.example'], rules: [{ backendRefs: [{ name: 'echo' }] }] },
      { name: 'exact-host', hostnames: ['a.wild.example'], rules: [{ backendRefs: [{ name: 'v2' }] }] },
    ],
    policies: {
      authorization: [
        { name: 'no-admin', targets: ['echo'], action: 'DENY', rules: [{ to: [{ paths: ['/admin*'] }] }] },
        { name: 'private-for-frontend', targets: ['echo'], action: 'DENY', rules: [{ from: [{ notServices: ['frontend'] }], to: [{ paths: ['/private*'] }] }] },
      ],
      rateLimits: [{ name: 'per-client', targets: ['echo'], match: { path: { type: 'PathPrefix', value: '/limited' } }, key: 'header:x-client', limit: { requests: 2, per: '1m' } }],
    },
  }
}
