/**
 * CONTRACT §4 through the app itself: every answer, and every error answer with its status
 * and JSON body (400 with issue paths, 401, 409, 413, 422 per code, 404).
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createControl } from '../../control/app.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { createPublisher, meshDoc, type Publisher } from './fixtures.ts'

const TOKEN = 'publish-s3cret'
let pub: Publisher
let other: Publisher

before(async () => {
  pub = await createPublisher('ops')
  other = await createPublisher('intruder')
})

function setup(options: { publishToken?: string; maxConfigBytes?: number } = { publishToken: TOKEN }) {
  const store = memoryStore()
  const app = createControl({ store, trust: pub.trust, ...options })
  const put = (jws: string, mesh = 'demo', token: string | null = TOKEN) =>
    app.request(`/v1/meshes/${mesh}/config`, {
      method: 'PUT',
      body: jws,
      headers: { 'content-type': 'application/jwt', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    })
  return { app, store, put }
}

async function expectError(response: Response, status: number, code: string) {
  const body = await response.json()
  assert.equal(response.status, status, JSON.stringify(body))
  assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/json')
  assert.equal(body.error, code, JSON.stringify(body))
  assert.equal(typeof body.message, 'string')
  assert.ok(body.message.length > 0)
  return body
}

describe('control API: success answers', () => {
  it('PUT 201 {version, digest}; GET config 200 with ETag; 304 on If-None-Match; versions list and get', async () => {
    const { app, put } = setup()
    const jws = await pub.sign(7)
    const res = await put(jws)
    assert.equal(res.status, 201)
    const body = await res.json()
    assert.equal(body.version, 7)
    assert.match(body.digest, /^sha256:[0-9a-f]{64}$/)

    const got = await app.request('/v1/meshes/demo/config')
    assert.equal(got.status, 200)
    assert.equal(got.headers.get('etag'), '"7"')
    assert.equal(got.headers.get('content-type'), 'application/jwt')
    assert.equal(await got.text(), jws)

    const same = await app.request('/v1/meshes/demo/config', { headers: { 'if-none-match': '"7"' } })
    assert.equal(same.status, 304)
    assert.equal(same.headers.get('etag'), '"7"')
    const older = await app.request('/v1/meshes/demo/config', { headers: { 'if-none-match': '"6"' } })
    assert.equal(older.status, 200)

    assert.equal((await put(await pub.sign(9))).status, 201)
    const list = await (await app.request('/v1/meshes/demo/versions')).json()
    assert.deepEqual(list.map((v: { version: number }) => v.version), [9, 7])
    assert.deepEqual(Object.keys(list[1]).sort(), ['digest', 'exp', 'iat', 'iss', 'publishedAt', 'version'])
    assert.equal(list[1].digest, body.digest)
    assert.equal(list[1].iss, 'ops')
    assert.ok(!Number.isNaN(Date.parse(list[1].publishedAt)))

    const v7 = await app.request('/v1/meshes/demo/versions/7')
    assert.equal(v7.status, 200)
    assert.equal(await v7.text(), jws)
    assert.equal((await app.request('/healthz')).status, 200)
  })

  it('accepts a JWS with a trailing newline (as legate sign -o writes it) and a chunked body', async () => {
    const { put, app } = setup()
    assert.equal((await put((await pub.sign(3)) + '\n')).status, 201)
    const jws = await pub.sign(4)
    const bytes = new TextEncoder().encode(jws)
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 100) c.enqueue(bytes.slice(i, i + 100))
        c.close()
      },
    })
    const res = await app.request('/v1/meshes/demo/config', { method: 'PUT', body, headers: { authorization: `Bearer ${TOKEN}` }, duplex: 'half' } as RequestInit)
    assert.equal(res.status, 201)
  })

  it('without a publish token configured, PUT needs no Authorization', async () => {
    const { put } = setup({})
    assert.equal((await put(await pub.sign(1), 'demo', null)).status, 201)
  })
})

describe('control API: error answers', () => {
  it('400 invalid_config lists every issue with its path', async () => {
    const { put, store } = setup()
    const claims = pub.claims(5)
    claims.config = { mesh: 'demo', services: [{ name: 'Echo!', endpoints: ['ftp://x'] }], routes: [{ name: 'r', rules: [{ backendRefs: [{ name: 'echo' }] }], bogus: 1 }] }
    const body = await expectError(await put(await pub.raw(claims)), 400, 'invalid_config')
    assert.ok(Array.isArray(body.issues) && body.issues.length >= 3, JSON.stringify(body.issues))
    const paths = body.issues.map((i: { path: string }) => i.path)
    assert.ok(paths.includes('services[0].name'), paths.join(' '))
    assert.ok(paths.some((p: string) => p.startsWith('services[0].endpoints[0]')), paths.join(' '))
    assert.ok(paths.includes('routes[0].bogus'), paths.join(' '))
    assert.equal(await store.current('demo'), undefined)
  })

  it('401 without the publish token, and with a wrong one, before reading the body', async () => {
    const { put, store } = setup()
    const jws = await pub.sign(5)
    const missing = await put(jws, 'demo', null)
    assert.equal(missing.headers.get('www-authenticate')?.startsWith('Bearer'), true)
    await expectError(missing, 401, 'unauthorized')
    await expectError(await put(jws, 'demo', 'publish-s3creT'), 401, 'unauthorized')
    await expectError(await put(jws, 'demo', TOKEN + 'x'), 401, 'unauthorized')
    await expectError(await put(jws, 'demo', ''), 401, 'unauthorized')
    assert.equal(await store.current('demo'), undefined)
  })

  it('409 version_not_newer names the current version (older and equal)', async () => {
    const { put } = setup()
    assert.equal((await put(await pub.sign(20))).status, 201)
    const older = await expectError(await put(await pub.sign(19)), 409, 'version_not_newer')
    assert.match(older.message, /\b20\b/)
    assert.equal(older.current, 20)
    const equal = await expectError(await put(await pub.sign(20)), 409, 'version_not_newer')
    assert.match(equal.message, /current version 20/)
  })

  it('413 too_large by Content-Length, and by streamed size without one', async () => {
    const { put, app, store } = setup({ publishToken: TOKEN, maxConfigBytes: 2000 })
    const big = 'a'.repeat(5000)
    const declared = await expectError(await put(big), 413, 'too_large')
    assert.match(declared.message, /over the 2000-byte limit/)
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++
        // Far more than the cap if it were read whole; the control must stop early.
        if (pulled > 10_000) c.close()
        else c.enqueue(new Uint8Array(1024).fill(97))
      },
    })
    const res = await app.request('/v1/meshes/demo/config', { method: 'PUT', body: endless, headers: { authorization: `Bearer ${TOKEN}` }, duplex: 'half' } as RequestInit)
    await expectError(res, 413, 'too_large')
    assert.ok(pulled < 20, `read ${pulled} KiB of an endless body`)
    // A real config just over the cap is refused as too large too (not as malformed).
    const claims = pub.claims(5)
    ;(claims.config as ReturnType<typeof meshDoc>).services[0]!.endpoints = Array.from({ length: 100 }, (_, i) => `http://127.0.0.1:${9000 + i}`)
    await expectError(await put(await pub.raw(claims)), 413, 'too_large')
    assert.equal(await store.current('demo'), undefined)
  })

  describe('422 for every signature and claim code', () => {
    const cases: Array<[string, () => Promise<string>]> = [
      ['malformed', async () => 'this is not a jws'],
      ['malformed', async () => (await pub.sign(5)).split('.').slice(0, 2).join('.')],
      ['bad_alg', async () => `${b64({ alg: 'HS256', typ: 'legate-config+jwt', kid: 'ops' })}.${b64(pub.claims(5))}.c2ln`],
      ['bad_alg', async () => `${b64({ alg: 'none', typ: 'legate-config+jwt', kid: 'ops' })}.${b64(pub.claims(5))}.`.replace(/\.$/, '.AA')],
      ['bad_typ', async () => pub.raw(pub.claims(5), { typ: 'JWT' })],
      ['untrusted_key', async () => other.sign(5)],
      ['untrusted_key', async () => pub.raw(pub.claims(5), { kid: 'someone-else' })],
      ['bad_signature', async () => {
        const [h, , s] = (await pub.sign(5)).split('.')
        return `${h}.${(await pub.sign(6)).split('.')[1]}.${s}`
      }],
      ['wrong_mesh', async () => pub.sign(5, { mesh: 'other' })],
      ['wrong_mesh', async () => pub.raw({ ...pub.claims(5), config: meshDoc('other') })],
      ['expired', async () => pub.sign(5, { now: Date.now() - 10 * 86_400_000, ttlSeconds: 3600 })],
      ['not_yet_valid', async () => pub.raw({ ...pub.claims(5), nbf: Math.floor(Date.now() / 1000) + 3600 })],
      ['not_yet_valid', async () => pub.sign(5, { now: Date.now() + 3_600_000 })],
      ['missing_claim', async () => {
        const c = pub.claims(5)
        delete c.ver
        return pub.raw(c)
      }],
      ['missing_claim', async () => {
        const c = pub.claims(5)
        delete c.aud
        return pub.raw(c)
      }],
      ['bad_claim', async () => pub.raw({ ...pub.claims(5), ver: -3 })],
      ['bad_claim', async () => pub.raw({ ...pub.claims(5), ver: '5' })],
      ['bad_claim', async () => pub.raw({ ...pub.claims(5), config: [1] })],
    ]
    for (const [code, make] of cases) {
      it(`422 ${code}`, async () => {
        const { put, store } = setup()
        await expectError(await put(await make()), 422, code)
        assert.equal(await store.current('demo'), undefined)
      })
    }
  })

  it('404: no config yet, unknown version, bad mesh name, unknown path', async () => {
    const { app, put } = setup()
    await expectError(await app.request('/v1/meshes/demo/config'), 404, 'not_found')
    await expectError(await app.request('/v1/meshes/demo/config?wait=0'), 404, 'not_found')
    assert.equal((await put(await pub.sign(5))).status, 201)
    await expectError(await app.request('/v1/meshes/demo/versions/4'), 404, 'not_found')
    await expectError(await app.request('/v1/meshes/demo/versions/abc'), 404, 'not_found')
    await expectError(await app.request('/v1/meshes/Demo/config'), 404, 'not_found')
    await expectError(await app.request('/v1/meshes/..%2f..%2fetc/config'), 404, 'not_found')
    await expectError(await app.request('/v2/anything'), 404, 'not_found')
    assert.deepEqual(await (await app.request('/v1/meshes/empty/versions')).json(), [])
  })

  it('a bad ?wait is refused; a long one is clamped to 60 s', async () => {
    const { app } = setup()
    await expectError(await app.request('/v1/meshes/demo/config?wait=soon'), 422, 'malformed')
  })
})

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
