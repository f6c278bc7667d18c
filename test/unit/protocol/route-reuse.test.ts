/**
 * Validation speed-ups that must not change what is accepted or refused: routes carried over
 * from the previous version (parseNextMeshConfig, verifyConfig `previous`), and zod's generated
 * parser for services and routes (what it refuses goes to zod's runtime parser).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { z } from 'zod/mini'
import { checkMeshConfig, isLegateError, parseMeshConfig, signConfig, verifyConfig, type MeshConfig } from '../../../protocol/index.ts'
import { routeSchema, serviceSchema } from '../../../protocol/schema.ts'
import { configIssues, parseNextMeshConfig } from '../../../protocol/validate.ts'
import { exampleConfig, makeKey, trustOf } from '../../helpers/keys.ts'

type Doc = Record<string, any>

const services = [
  { name: 'api', endpoints: ['http://127.0.0.1:9000'] },
  { name: 'web', endpoints: ['http://127.0.0.1:9001'] },
]
const route = (i: number, backend = 'api'): Doc => ({
  name: `r${i}`,
  hostnames: [`h${i}.example.com`],
  rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/v${i}` }, headers: [{ name: 'x-a', value: String(i) }] }], backendRefs: [{ name: backend }], timeouts: { request: '2s' } }],
})
const doc = (routes: Doc[], svc: Doc[] = services): Doc => ({ mesh: 'demo', services: svc, routes })
/** The document as it arrives in a signed config: parsed from JSON text. */
const fromJson = (d: Doc): Doc => JSON.parse(JSON.stringify(d))

/** The issues of a refused document (parsed as the version after `previous`, if given), or undefined when it parses. */
function issuesOf(input: unknown, previous?: MeshConfig) {
  try {
    if (previous) parseNextMeshConfig(input, previous)
    else parseMeshConfig(input)
    return undefined
  } catch (err) {
    assert.ok(isLegateError(err) && err.code === 'invalid_config', String(err))
    return err.issues
  }
}

test('routes unchanged since the previous version are taken from it; the result equals a fresh parse', () => {
  const v1 = parseNextMeshConfig(fromJson(doc([route(0), route(1), route(2)])), null)
  const next = doc([route(0), { ...route(1), hostnames: ['changed.example.com'] }, route(2), route(3)])
  const v2 = parseNextMeshConfig(fromJson(next), v1)
  assert.deepEqual(v2, parseMeshConfig(fromJson(next)))
  assert.equal(v2.routes[0], v1.routes[0], 'unchanged route 0 is the previous parse')
  assert.equal(v2.routes[2], v1.routes[2], 'unchanged route 2 is the previous parse')
  assert.notEqual(v2.routes[1], v1.routes[1], 'a changed route is parsed again')
  assert.equal(v2.routes[1]!.hostnames![0], 'changed.example.com')
  // A version parsed by parseMeshConfig keeps nothing for the next.
  const plain = parseMeshConfig(fromJson(next))
  assert.notEqual(parseNextMeshConfig(fromJson(next), plain).routes[0], plain.routes[0])
  // A route that moved is found by its name; one of the same name that changed is parsed again.
  const moved = parseNextMeshConfig(fromJson(doc([route(3), route(2), route(0), { ...route(1), hostnames: ['changed.example.com'] }])), v2)
  assert.equal(moved.routes[0], v2.routes[3])
  assert.equal(moved.routes[2], v2.routes[0])
  assert.equal(moved.routes[3], v2.routes[1])
  const renamed = parseNextMeshConfig(fromJson(doc([{ ...route(0), name: 'other' }])), v2)
  assert.notEqual(renamed.routes[0], v2.routes[0])
  assert.equal(renamed.routes[0]!.name, 'other')
})

test('routes identical to the previous version still fail when a cross-reference breaks', () => {
  const v1 = parseNextMeshConfig(fromJson(doc([route(0), route(1, 'web')])), null)
  // The service the unchanged route 1 sends to is gone.
  const gone = fromJson(doc([route(0), route(1, 'web')], [services[0]!]))
  assert.deepEqual(issuesOf(gone, v1), [{ path: 'routes[1].rules[0].backendRefs[0].name', message: 'no service named "web"' }])
  assert.deepEqual(issuesOf(gone, v1), issuesOf(gone))
  // Two unchanged routes now carry the same name.
  const twice = fromJson(doc([route(0), route(1, 'web'), route(0)]))
  assert.deepEqual(issuesOf(twice, v1), [{ path: 'routes[2].name', message: 'duplicate route name "r0" (first at index 0)' }])
})

test('a refused version leaves nothing behind, and the field errors of a changed route are zod\'s own', () => {
  const v1 = parseNextMeshConfig(fromJson(doc([route(0), route(1)])), null)
  const broken = fromJson(doc([route(0), { ...route(1), rules: [{ backendRefs: [{ name: 'api', weight: -1 }], timeouts: { request: 'soon' } }] }]))
  const issues = issuesOf(broken, v1)
  assert.deepEqual(issues, issuesOf(broken))
  assert.deepEqual(issues!.map((i) => i.path), ['routes[1].rules[0].backendRefs[0].weight', 'routes[1].rules[0].timeouts.request'])
  // The fixed version still reuses route 0 from v1.
  const v2 = parseNextMeshConfig(fromJson(doc([route(0), route(5)])), v1)
  assert.equal(v2.routes[0], v1.routes[0])
})

test('verifyConfig with previous: same config, unchanged routes carried over, same refusals', async () => {
  const key = await makeKey('ops')
  const trust = await trustOf(key)
  const sign = (d: Doc, ver: number) => signConfig(d, { key: key.key, kid: key.kid, alg: key.alg, ver })
  const v1 = await verifyConfig(await sign(doc([route(0), route(1)]), 1), { trust, mesh: 'demo', previous: null })
  const jws2 = await sign(doc([route(0), route(2)]), 2)
  const v2 = await verifyConfig(jws2, { trust, mesh: 'demo', previous: v1 })
  assert.deepEqual(v2.config, (await verifyConfig(jws2, { trust, mesh: 'demo' })).config)
  assert.equal(v2.config.routes[0], v1.config.routes[0])
  // Signed configs are validated before signing, so a broken reference needs a crafted token.
  const { signWith, configHeader, validClaims } = await import('../../helpers/keys.ts')
  const bad = await signWith(key.key, configHeader(key), validClaims(doc([route(0), route(1, 'web')], [services[0]!]) as { mesh: string }))
  await assert.rejects(verifyConfig(bad, { trust, mesh: 'demo', previous: v1 }), (err) => isLegateError(err) && err.code === 'invalid_config' && err.issues![0]!.path === 'routes[1].rules[0].backendRefs[0].name')
})

test('the generated parser builds exactly what zod\'s runtime parser builds', () => {
  const example = exampleConfig() as Doc
  const routes: Doc[] = [
    ...example.routes,
    route(7),
    {
      name: 'all',
      hostnames: ['A.Example.com', '*.b.example.com'],
      rules: [
        {
          matches: [{ path: { value: '/u' }, method: 'GET', headers: [{ type: 'RegularExpression', name: 'x-a', value: 'a.*' }], queryParams: [{ name: 'q', value: '1' }] }],
          filters: [
            { type: 'URLRewrite', urlRewrite: { hostname: 'X.y', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/x' } } },
            { type: 'RequestMirror', requestMirror: { backendRef: { name: 'web' } } },
            { type: 'CORS', cors: { allowOrigins: ['*'], allowMethods: ['GET', '*'] } },
            { type: 'Fault', fault: { delay: { percent: 5, fixedDelay: '1s' } } },
            { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }], remove: ['z'] } },
          ],
          backendRefs: [{ name: 'api', weight: 0 }, { name: 'web' }],
          timeouts: { request: '2s', backendRequest: '1s' },
          retry: { attempts: 1, grpcCodes: ['UNAVAILABLE'] },
          maxRequestBodyBytes: 10,
        },
        { filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', port: 8443, statusCode: 301, path: { type: 'ReplaceFullPath', replaceFullPath: '/z' } } }] },
      ],
    },
  ]
  const svc: Doc[] = [
    ...example.services,
    { name: 's1', endpoints: ['http://127.0.0.1:1', { url: 'https://x.y:443', weight: 3 }], loadBalancing: 'ring-hash', hashKey: 'header:x-user', healthCheck: { interval: '1s' }, outlierDetection: {}, circuitBreaker: { maxRetries: 1 }, appProtocol: 'h2c', tls: { serverName: 'x', ca: 'PEM' } },
  ]
  const config: MeshConfig = parseMeshConfig({ ...example, services: [...svc, ...services.filter((s) => !svc.some((x) => x.name === s.name))], routes })
  assert.deepEqual(config.routes, z.array(routeSchema).parse(routes))
  assert.deepEqual(config.services.slice(0, svc.length), z.array(serviceSchema).parse(svc))
})

test('an invalid route among valid ones is reported as zod\'s runtime parser reports it', () => {
  const routes = [route(0), route(1), { ...route(2), hostnames: ['Not Valid'] }, route(3), { name: 'r4', rules: [{ backendRefs: [{ name: 'api' }], extra: 1 }] }]
  const runtime = z.array(routeSchema).safeParse(routes)
  assert.ok(!runtime.success)
  const expected = configIssues(runtime.error).map((i) => ({ path: `routes${i.path}`, message: i.message }))
  assert.deepEqual(checkMeshConfig(doc(routes)), expected)
  assert.deepEqual(expected.map((i) => i.path), ['routes[2].hostnames[0]', 'routes[4].rules[0].extra'])
})
