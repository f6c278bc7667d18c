/**
 * TLS origination (issue 10, acceptance 3): https endpoints signed by a test CA made with
 * openssl in a temp dir. Verified and routed with the service's CA (file or inline PEM),
 * an SNI override, a client certificate (mTLS) and HTTP/2 over TLS; a wrong CA, a wrong
 * name, the system roots for a private CA and a missing client certificate are refused
 * with 502 upstream_unavailable and a log line that says why.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { createSecureServer, type Http2SecureServer } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { rawRequest, tempDir, until } from '../worker/helpers.ts'
import { ambassadorWith } from './helpers.ts'
import { meshConfigSchema } from '../../protocol/schema.ts'

let dir: string
let amb: RunningAmbassador
const log: string[] = []
const closers: Array<() => void> = []
const seen: Array<{ server: string; servername: unknown; client?: unknown; version: string }> = []
const handshakes: Record<string, number> = {}

function openssl(...args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}

/** A CA, and a leaf it signs with the given subjectAltName and extended key usage. */
function makePki() {
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=legate test ${ca}`)
  const leaf = (name: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext)
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`)
  }
  leaf('server', 'subjectAltName=DNS:api.internal,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  leaf('client', 'extendedKeyUsage=clientAuth\n')
}

const file = (name: string) => join(dir, name)
const pem = (name: string) => readFileSync(file(name))

function listen(server: HttpsServer | Http2SecureServer): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`)))
}

function httpsUpstream(name: string, requireClientCert: boolean): Promise<string> {
  const server = createHttpsServer({ key: pem('server.key'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: requireClientCert, rejectUnauthorized: requireClientCert }, (req, res) => {
    const socket = req.socket as TLSSocket
    seen.push({ server: name, servername: socket.servername, client: socket.getPeerCertificate()?.subject?.CN, version: req.httpVersion })
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${name}`)
  })
  server.on('secureConnection', () => (handshakes[name] = (handshakes[name] ?? 0) + 1))
  closers.push(() => {
    server.close()
    server.closeAllConnections()
  })
  return listen(server)
}

before(async () => {
  dir = tempDir('legate-tls-')
  makePki()
  // An endpoint's TLS settings are one per origin (the schema refuses two services disagreeing): one upstream each.
  const plain = async (name: string) => httpsUpstream(name, false)
  const mtls = async (name: string) => httpsUpstream(name, true)
  const h2 = createSecureServer({ key: pem('server.key'), cert: pem('server.pem'), allowHTTP1: false }, (req, res) => {
    seen.push({ server: 'h2', servername: (req.socket as TLSSocket).servername, version: req.httpVersion })
    res.writeHead(200).end('hello over h2')
  })
  closers.push(() => h2.close())
  const h2url = await listen(h2)
  const logStream = new PassThrough()
  logStream.on('data', (chunk: Buffer) => log.push(...String(chunk).split('\n').filter(Boolean)))
  const caFile = file('ca.pem')
  amb = await ambassadorWith(
    {
      mesh: 'demo',
      services: [
        { name: 'secure', endpoints: [await plain('secure')], tls: { caFile } },
        { name: 'sni', endpoints: [await plain('sni')], tls: { ca: pem('ca.pem').toString(), serverName: 'api.internal' } },
        { name: 'wrong-ca', endpoints: [await plain('wrong-ca')], tls: { caFile: file('other-ca.pem') } },
        { name: 'wrong-name', endpoints: [await plain('wrong-name')], tls: { caFile, serverName: 'evil.example' } },
        { name: 'system-roots', endpoints: [await plain('system-roots')] },
        { name: 'mtls', endpoints: [await mtls('mtls')], tls: { caFile, certFile: file('client.pem'), keyFile: file('client.key') } },
        { name: 'mtls-no-cert', endpoints: [await mtls('mtls-no-cert')], tls: { caFile } },
        { name: 'h2', endpoints: [h2url], appProtocol: 'h2', tls: { caFile, serverName: 'api.internal' } },
        { name: 'missing-file', endpoints: [await plain('missing-file')], tls: { caFile: file('nope.pem') } },
      ],
      routes: [{ name: 'many-hosts', hostnames: ['a.example', 'b.example'], rules: [{ backendRefs: [{ name: 'sni' }] }] }],
    },
    { logLevel: 'info', logStream },
  )
})

after(async () => {
  await amb?.close()
  for (const c of closers) c()
})

const get = (host: string) => rawRequest(amb.ports.outbound, { path: '/', headers: { host } })

test('verified with the service CA file: routed, 200', async () => {
  const res = await get('secure')
  assert.equal(res.status, 200)
  assert.equal(res.body, 'hello from secure')
})

test('inline CA and an SNI override: the upstream sees the server name', async () => {
  const res = await get('sni')
  assert.equal(res.status, 200)
  assert.equal(seen.at(-1)?.servername, 'api.internal')
})

test('requests for several hostnames to one TLS backend share its connection (no handshake per Host change)', async () => {
  assert.equal((await get('a.example')).status, 200)
  const before = handshakes.sni ?? 0
  for (let i = 0; i < 10; i++) {
    const res = await get(i % 2 ? 'a.example' : 'b.example')
    assert.equal(res.status, 200)
    assert.equal(seen.at(-1)?.servername, 'api.internal')
  }
  assert.equal(handshakes.sni, before)
})

test('mTLS: the client certificate is presented; without it the upstream refuses', async () => {
  const ok = await get('mtls')
  assert.equal(ok.status, 200)
  assert.equal(seen.at(-1)?.client, 'client')
  const refused = await get('mtls-no-cert')
  assert.equal(refused.status, 502)
  assert.equal(JSON.parse(refused.body).error, 'upstream_unavailable')
})

test('HTTP/2 over TLS (appProtocol h2, ALPN)', async () => {
  const res = await get('h2')
  assert.equal(res.status, 200)
  assert.equal(res.body, 'hello over h2')
  assert.equal(seen.at(-1)?.version, '2.0')
})

for (const [service, reason] of [
  ['wrong-ca', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/],
  ['wrong-name', /ERR_TLS_CERT_ALTNAME_INVALID/],
  ['system-roots', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED/],
] as const) {
  test(`${service}: 502 upstream_unavailable and a log line with the reason`, async () => {
    const res = await get(service)
    assert.equal(res.status, 502)
    const body = JSON.parse(res.body)
    assert.equal(body.error, 'upstream_unavailable')
    await until(() => log.some((l) => l.includes('upstream TLS handshake failed') && reason.test(l)))
  })
}

test('an unreadable caFile: logged when the config applies, 502 naming the file', async () => {
  const res = await get('missing-file')
  assert.equal(res.status, 502)
  assert.match(JSON.parse(res.body).message, /nope\.pem.*ENOENT/)
  assert.ok(log.some((l) => l.includes('service TLS settings unusable') && l.includes('missing-file')))
})

test('the schema refuses two services that disagree on how to speak to one endpoint', () => {
  const r = meshConfigSchema.safeParse({
    mesh: 'demo',
    services: [
      { name: 'a', endpoints: ['https://10.0.0.1:8443'], tls: { serverName: 'a.internal' } },
      { name: 'b', endpoints: ['https://10.0.0.1:8443'], tls: { serverName: 'b.internal' } },
      { name: 'c', endpoints: ['https://10.0.0.1:8443'], tls: { serverName: 'a.internal' } },
    ],
  })
  assert.equal(r.success, false)
  const issues = r.error!.issues.map((i) => i.path.join('.'))
  assert.deepEqual(issues, ['services.1.endpoints.0'])
})
