/**
 * Forwarding on Node through real sockets: Host routing and absolute-form proxying, the
 * headers a hop adds and drops, local replies for no route / unavailable / timeout, and
 * filters applied on the way.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { createSigner, rawRequest, startAmbassador, startUpstream, tempDir, until, type Upstream } from './helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'

let echo: Upstream, v2: Upstream, slow: Upstream, fixed: Upstream, amb: RunningAmbassador
let deadPort: number
let slowCancelled = 0

before(async () => {
  echo = await startUpstream('echo')
  v2 = await startUpstream('v2')
  slow = await startUpstream('slow', (req, res) => {
    const t = setTimeout(() => res.end('late'), 2000)
    res.on('close', () => {
      clearTimeout(t)
      if (!res.writableFinished) slowCancelled++
    })
  })
  // The same answer head every time (no Date): the Node forward converts it once (repeated-heads.ts).
  fixed = await startUpstream('fixed', (req, res) => {
    res.sendDate = false
    res.writeHead(200, { connection: 'keep-alive, x-hop', 'x-hop': '1', 'x-upstream': 'fixed', 'content-length': '2' }).end('ok')
  })
  const dead = await startUpstream('dead')
  deadPort = dead.port
  await dead.close()
  const signer = await createSigner()
  const config = {
    mesh: 'demo',
    services: [
      { name: 'echo', endpoints: [echo.url] },
      { name: 'v2', endpoints: [v2.url] },
      { name: 'slow', endpoints: [slow.url] },
      { name: 'dead', endpoints: [`http://127.0.0.1:${deadPort}`] },
      { name: 'fixed', endpoints: [fixed.url] },
    ],
    routes: [
      {
        name: 'web',
        hostnames: ['web.example'],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/v2' } }],
            backendRefs: [{ name: 'v2' }],
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-added', value: 'yes' }], remove: ['x-remove-me'] } },
              { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-resp', value: 'set' }] } },
              { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/api' } } },
            ],
          },
          { matches: [{ path: { type: 'Exact', value: '/old' } }], filters: [{ type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplaceFullPath', replaceFullPath: '/new' }, statusCode: 301 } }] },
          { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'echo' }] },
        ],
      },
      { name: 'fixed', hostnames: ['fixed.example'], rules: [{ backendRefs: [{ name: 'fixed' }] }] },
      {
        name: 'fixed-edit',
        hostnames: ['fixed-edit.example'],
        rules: [{ backendRefs: [{ name: 'fixed' }], filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-resp', value: 'set' }], remove: ['x-upstream'] } }] }],
      },
      { name: 'slow', hostnames: ['slow.example'], rules: [{ backendRefs: [{ name: 'slow' }], timeouts: { request: '300ms' } }] },
    ],
  }
  const dir = tempDir()
  const file = join(dir, 'config.jws')
  writeFileSync(file, await signer.sign(config, 1))
  amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file })
  await until(() => amb.ambassador.holder.current !== undefined)
})

after(async () => {
  await amb?.close()
  await Promise.all([echo, v2, slow, fixed].map((u) => u?.close()))
})

test('routes by Host and forwards with request id, traceparent and x-forwarded-for', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/hello?x=1', headers: { host: 'web.example', 'x-forwarded-for': '10.1.2.3' } })
  assert.equal(res.status, 200)
  const body = JSON.parse(res.body)
  assert.equal(body.name, 'echo')
  assert.equal(body.url, '/hello?x=1')
  assert.equal(body.headers.host, 'web.example')
  assert.equal(body.headers['x-forwarded-for'], '10.1.2.3, 127.0.0.1')
  assert.match(body.headers['x-request-id'], /^[0-9a-f]{32}$/)
  assert.match(body.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
})

test('keeps a client x-request-id and continues its trace as a child span', async () => {
  const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web.example', 'x-request-id': 'abc-123', traceparent: parent } })
  const body = JSON.parse(res.body)
  assert.equal(body.headers['x-request-id'], 'abc-123')
  const [, trace, span, flags] = body.headers.traceparent.split('-')
  assert.equal(trace, '4bf92f3577b34da6a3ce929d0e0e4736')
  assert.notEqual(span, '00f067aa0ba902b7')
  assert.equal(flags, '01')
})

test('drops hop-by-hop headers both ways, including those Connection names', async () => {
  const res = await rawRequest(amb.ports.outbound, {
    path: '/',
    headers: { host: 'web.example', connection: 'keep-alive, x-private', 'x-private': 'no', 'keep-alive': 'timeout=1', te: 'trailers', 'proxy-authorization': 'Basic x', 'x-kept': 'yes' },
  })
  const body = JSON.parse(res.body)
  for (const h of ['x-private', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(body.headers[h], undefined, h)
  assert.equal(body.headers['x-kept'], 'yes')
  assert.equal(res.headers['x-hop'], undefined)
  assert.equal(res.headers['x-upstream'], 'echo')
})

test('a repeated answer head gets its hop-by-hop fields dropped and each route\'s edits, every time, none carried to the next', async () => {
  for (let i = 0; i < 6; i++) {
    const edited = i % 2 === 1
    const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: edited ? 'fixed-edit.example' : 'fixed.example' } })
    assert.equal(res.body, 'ok')
    assert.equal(res.headers['x-hop'], undefined)
    assert.equal(res.headers['x-resp'], edited ? 'set' : undefined, `answer ${i + 1}`)
    assert.equal(res.headers['x-upstream'], edited ? undefined : 'fixed', `answer ${i + 1}`)
  }
})

test('works as an HTTP proxy with absolute-form targets', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: 'http://web.example/proxied?q=2', headers: { host: 'web.example' } })
  assert.equal(res.status, 200)
  const body = JSON.parse(res.body)
  assert.equal(body.url, '/proxied?q=2')
})

test('applies header modifiers and URL rewrite of the matched rule', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/v2/items', headers: { host: 'web.example', 'x-remove-me': '1' } })
  const body = JSON.parse(res.body)
  assert.equal(body.name, 'v2')
  assert.equal(body.url, '/api/items')
  assert.equal(body.headers['x-added'], 'yes')
  assert.equal(body.headers['x-remove-me'], undefined)
  assert.equal(res.headers['x-resp'], 'set')
})

test('answers a RequestRedirect itself', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/old', headers: { host: 'web.example' } })
  assert.equal(res.status, 301)
  assert.equal(res.headers.location, 'http://web.example/new')
})

test('paths are routed as a URL parser resolves them: dot segments cannot reach around a rule', async () => {
  // /v2/../old is /old: the redirect rule, not the /v2 prefix rule.
  const res = await rawRequest(amb.ports.outbound, { path: '/v2/../old', headers: { host: 'web.example' } })
  assert.equal(res.status, 301)
  const up = await rawRequest(amb.ports.outbound, { path: '/x/%2e%2e/v2/a', headers: { host: 'Web.Example' } })
  assert.equal(JSON.parse(up.body).name, 'v2')
  assert.equal(JSON.parse(up.body).url, '/api/a')
})

test('a request that names no host, or a path with a backslash, gets 400 and is not forwarded', async () => {
  const before = echo.seen.length
  for (const headers of [{ host: 'web.example/evil' }, { host: 'user@web.example' }, { host: 'a b' }]) {
    const res = await rawRequest(amb.ports.outbound, { path: '/', headers })
    assert.equal(res.status, 400, JSON.stringify(headers))
    assert.equal(JSON.parse(res.body).error, 'bad_request')
  }
  assert.equal((await rawRequest(amb.ports.outbound, { path: '/a\\..\\admin', headers: { host: 'web.example' } })).status, 400)
  assert.equal(echo.seen.length, before)
})

test('404 no_route for an unknown host, as JSON', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'nowhere.example' } })
  assert.equal(res.status, 404)
  assert.deepEqual(Object.keys(JSON.parse(res.body)), ['error', 'message'])
  assert.equal(JSON.parse(res.body).error, 'no_route')
})

test('502 upstream_unavailable when the endpoint refuses connections (implicit service route)', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'dead' } })
  assert.equal(res.status, 502)
  assert.equal(JSON.parse(res.body).error, 'upstream_unavailable')
})

test('504 upstream_timeout when timeouts.request passes, and the upstream request is cancelled', async () => {
  const t0 = Date.now()
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'slow.example' } })
  assert.equal(res.status, 504)
  assert.equal(JSON.parse(res.body).error, 'upstream_timeout')
  assert.ok(Date.now() - t0 < 1500)
  await until(() => slowCancelled === 1, 1000)
})

test('metrics count requests by route and service, and local replies by reason', async () => {
  const res = await fetch(`http://127.0.0.1:${amb.ports.admin}/metrics`)
  const text = await res.text()
  assert.match(res.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/)
  assert.match(text, /legate_requests_total\{direction="outbound",route="web",service="echo",code="200"\} \d+/)
  assert.match(text, /legate_local_replies_total\{reason="no_route"\} 1/)
  assert.match(text, /legate_local_replies_total\{reason="upstream_timeout"\} 1/)
})

test('HEAD is forwarded once: status and headers of the upstream, no body, no second head written', async () => {
  // Hono answers HEAD through its GET handler; node-server used to write the head twice
  // (ERR_HTTP_HEADERS_SENT, reported through console.error) after the fast path had sent it.
  const errors: unknown[] = []
  const original = console.error
  console.error = (...args: unknown[]) => void errors.push(args)
  try {
    const get = await rawRequest(amb.ports.outbound, { path: '/head-check', headers: { host: 'web.example' } })
    const head = await rawRequest(amb.ports.outbound, { method: 'HEAD', path: '/head-check', headers: { host: 'web.example' } })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['x-upstream'], 'echo')
    assert.equal(head.headers['content-type'], get.headers['content-type'])
    const after = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web.example' } })
    assert.equal(after.status, 200)
    await new Promise((r) => setTimeout(r, 50))
  } finally {
    console.error = original
  }
  assert.deepEqual(errors, [])
})

test('local replies carry their length and the request id', async () => {
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'nowhere.example' } })
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body))
  assert.match(String(res.headers['x-request-id']), /^[0-9a-f]{32}$/)
  assert.equal(res.headers['content-type'], 'application/json')
})

test('the Hono apps run the same handler (for mounting in another Hono app): a local reply through outbound.request', async () => {
  const res = await amb.ambassador.outbound.request('http://nowhere.example/x')
  assert.equal(res.status, 404)
  assert.equal((await res.json()).error, 'no_route')
})

// undici's own default would close an idle upstream connection after 4 s; legate keeps it 60 s
// when the upstream announces nothing (worker/platforms/node/undici-forward.ts).
test('an idle upstream connection is kept past 4 s when the upstream announces no keep-alive timeout', { timeout: 30_000 }, async () => {
  const { createServer } = await import('node:http')
  let connections = 0
  const server = createServer((req, res) => res.end('ok'))
  server.keepAliveTimeout = 0 // no idle close, and no Keep-Alive hint in answers
  server.on('connection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const signer = await createSigner()
  const file = join(tempDir(), 'config.jws')
  writeFileSync(file, await signer.sign({ mesh: 'demo', services: [{ name: 'quiet', endpoints: [`http://127.0.0.1:${(server.address() as { port: number }).port}`] }], routes: [] }, 1))
  const a = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file })
  try {
    await until(() => a.ambassador.holder.current !== undefined)
    assert.equal((await rawRequest(a.ports.outbound, { path: '/', headers: { host: 'quiet' } })).status, 200)
    await new Promise((r) => setTimeout(r, 5_000))
    assert.equal((await rawRequest(a.ports.outbound, { path: '/', headers: { host: 'quiet' } })).status, 200)
    assert.equal(connections, 1)
  } finally {
    await a.close()
    server.closeAllConnections()
    server.close()
  }
})
