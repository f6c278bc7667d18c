/**
 * The committed schema/mesh.schema.json: fresh (regenerate with `npm run schema:gen`), and
 * usable by an independent validator (ajv, draft-07) the way editors use it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { meshJsonSchema } from '../../../protocol/index.ts'
import { exampleConfig } from '../../helpers/keys.ts'

const committed = JSON.parse(readFileSync(new URL('../../../schema/mesh.schema.json', import.meta.url), 'utf8'))

test('schema/mesh.schema.json equals the one generated from the zod schema (run `npm run schema:gen`)', () => {
  assert.deepEqual(committed, meshJsonSchema())
})

test('it is a draft-07 schema', () => {
  assert.equal(committed.$schema, 'http://json-schema.org/draft-07/schema#')
})

// strict: false because zod writes non-standard `format` names ("starts_with") beside its
// `pattern`; editors ignore unknown formats too, so this is how the schema is really used.
const validate = new Ajv({ allErrors: true, strict: false, formats: { starts_with: true } }).compile(committed)
const errorsOf = (doc: unknown) => (validate(doc) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`))

test('ajv accepts examples/mesh.yaml', () => {
  assert.deepEqual(errorsOf(exampleConfig()), [])
})

test('ajv rejects an unknown field', () => {
  const doc = exampleConfig() as { services: Array<Record<string, unknown>> }
  doc.services[1]!.loadBalancer = 'random'
  const errors = errorsOf(doc)
  assert.ok(errors.some((e) => e.startsWith('/services/1 ') && e.includes('loadBalancer')), errors.join('\n'))
})

test('ajv rejects a wrong type, a bad enum value and a missing required field', () => {
  assert.ok(errorsOf({ mesh: 'demo', services: 'echo' }).some((e) => e.startsWith('/services ')))
  assert.ok(errorsOf({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://a'], loadBalancing: 'fastest' }] }).some((e) => e.startsWith('/services/0/loadBalancing ')))
  assert.ok(errorsOf({ services: [] }).some((e) => e.includes('mesh')))
  assert.ok(errorsOf({ mesh: 'Not A Name' }).some((e) => e.startsWith('/mesh ')))
})

test('ajv flags what an editor should: a bad duration, a non-http endpoint, a bad hostname', () => {
  const withRoute = (route: Record<string, unknown>) => ({ mesh: 'demo', services: [{ name: 'a', endpoints: ['http://a'] }], routes: [{ name: 'a', rules: [{ backendRefs: [{ name: 'a' }] }], ...route }] })
  const timeouts = (request: string) => withRoute({ rules: [{ backendRefs: [{ name: 'a' }], timeouts: { request } }] })
  assert.deepEqual(errorsOf(timeouts('1h30m')), [])
  assert.ok(errorsOf(timeouts('10 seconds')).some((e) => e.startsWith('/routes/0/rules/0/timeouts/request ')))
  const endpoint = (url: unknown) => ({ mesh: 'demo', services: [{ name: 'a', endpoints: [url] }] })
  for (const good of ['http://127.0.0.1:9001', 'HTTPS://Example.COM:443/', 'http://[::1]:9000']) assert.deepEqual(errorsOf(endpoint(good)), [], good)
  for (const bad of ['javascript:alert(1)', 'ftp://a', 'http://a/path', 'http://user@a']) {
    assert.ok(errorsOf(endpoint(bad)).length > 0, bad)
    assert.ok(errorsOf(endpoint({ url: bad })).length > 0, `{url: ${bad}}`)
  }
  assert.deepEqual(errorsOf(withRoute({ hostnames: ['API.Demo', '*.example.com'] })), [])
  assert.ok(errorsOf(withRoute({ hostnames: ['a_b'] })).some((e) => e.startsWith('/routes/0/hostnames/0 ')))
})

test('a config using every kind of field is valid for zod and for ajv alike (no false alarms in editors)', async () => {
  const { checkMeshConfig } = await import('../../../protocol/index.ts')
  const header = { name: 'x-a', value: '1' }
  const kitchenSink = {
    mesh: 'demo',
    services: [
      {
        name: 'api',
        endpoints: ['HTTP://API.internal:80/', { url: 'https://10.0.0.2:8443', weight: 0 }, { url: 'http://[::1]:9000' }],
        loadBalancing: 'ring-hash',
        hashKey: 'header:x-user',
        healthCheck: { path: '/ready', interval: '2s', timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 1 },
        outlierDetection: { consecutive5xx: 3, interval: '5s', baseEjectionTime: '1m', maxEjectionPercent: 100 },
        circuitBreaker: { maxConnections: 10, maxPendingRequests: 0, maxRequests: 10, maxRetries: 0 },
        identity: { keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'api-1', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', alg: 'EdDSA', use: 'sig' }] },
      },
      { name: 'shadow', endpoints: ['http://127.0.0.1:1'], appProtocol: 'h2c' },
      { name: 'secure', endpoints: ['https://10.0.0.3:8443'], appProtocol: 'h2', tls: { ca: '-----BEGIN CERTIFICATE-----\n...', serverName: 'secure.internal', certFile: '/c.pem', keyFile: '/k.pem' } },
    ],
    routes: [
      {
        name: 'api',
        hostnames: ['API.Demo', '*.example.com'],
        rules: [
          {
            matches: [
              { path: { type: 'PathPrefix', value: '/v1' }, method: 'GET', headers: [header, { type: 'RegularExpression', name: 'x-b', value: '^[0-9]+$' }], queryParams: [{ name: 'q', value: '1' }] },
              { path: { type: 'RegularExpression', value: '^/v[0-9]+/x$' } },
            ],
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [header], add: [header], remove: ['x-c'] } },
              { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [header] } },
              { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow' }, percent: 12.5 } },
              { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow' } } },
              { type: 'CORS', cors: { allowOrigins: ['https://*.example.com', '*'], allowMethods: ['GET', '*'], allowHeaders: ['x-a', '*'], exposeHeaders: ['x-b'], allowCredentials: true, maxAge: 600 } },
              { type: 'Fault', fault: { delay: { percent: 1, fixedDelay: '100ms' }, abort: { percent: 0.5, status: 503 } } },
            ],
            backendRefs: [{ name: 'api', weight: 9 }, { name: 'shadow' }],
            timeouts: { request: '10s', backendRequest: '2s' },
            retry: { attempts: 3, codes: [500, 502], backoff: '10ms' },
            maxRequestBodyBytes: 1048576,
          },
          { matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [{ type: 'URLRewrite', urlRewrite: { hostname: 'api.internal', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }], backendRefs: [{ name: 'api' }] },
          { matches: [{ path: { type: 'Exact', value: '/gone' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'example.com', port: 443, path: { type: 'ReplaceFullPath', replaceFullPath: '/' }, statusCode: 308 } }] },
        ],
      },
    ],
    policies: {
      authorization: [
        { name: 'allow', targets: ['api'], action: 'ALLOW', rules: [{ from: [{ services: ['*'], notServices: ['shadow'], ipBlocks: ['10.0.0.0/8', '::1/128'], notIpBlocks: ['10.9.0.0/16'] }], to: [{ methods: ['GET'], notMethods: ['POST'], paths: ['/api*', '*.json', '*'], notPaths: ['/api/admin*'] }], when: [{ header: 'x-tenant', values: ['a'], notValues: ['b'] }] }] },
        { name: 'deny', action: 'DENY', rules: [{}] },
      ],
      rateLimits: [
        { name: 'per-user', targets: ['api'], match: { path: { type: 'PathPrefix', value: '/v1' }, method: 'POST' }, key: 'header:x-user', limit: { requests: 10, per: '1s', burst: 20 } },
        { name: 'global', key: 'global', scope: 'global', failureMode: 'closed', limit: { requests: 1000, per: '1m' } },
      ],
    },
  }
  assert.deepEqual(checkMeshConfig(kitchenSink), [])
  assert.deepEqual(errorsOf(kitchenSink), [])
})
