/**
 * `--config-file`: a signed file is served at start and again whenever it is replaced; a
 * bad replacement is refused with its reason while the last-known-good keeps serving.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { createSigner, json, rawRequest, startAmbassador, startUpstream, tempDir, until, writeAtomic } from './helpers.ts'

const closers: Array<() => Promise<void>> = []
after(async () => {
  for (const c of closers.reverse()) await c()
})

test('a replaced config file applies; a broken or oversized one is refused and reported', async () => {
  const a = await startUpstream('a')
  const b = await startUpstream('b')
  closers.push(a.close, b.close)
  const signer = await createSigner()
  const doc = (to: 'a' | 'b') => ({
    mesh: 'demo',
    services: [{ name: 'a', endpoints: [a.url] }, { name: 'b', endpoints: [b.url] }],
    routes: [{ name: 'web', hostnames: ['web'], rules: [{ backendRefs: [{ name: to }] }] }],
  })
  const file = join(tempDir(), 'mesh.jws')
  writeAtomic(file, await signer.sign(doc('a'), 1))
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file, maxConfigBytes: 64 * 1024 })
  closers.push(amb.close)
  const admin = `http://127.0.0.1:${amb.ports.admin}`
  const served = async () => JSON.parse((await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web' } })).body).name
  await until(() => amb.ambassador.holder.current?.verified.ver === 1)
  assert.equal(await served(), 'a')

  writeAtomic(file, await signer.sign(doc('b'), 2))
  await until(() => amb.ambassador.holder.current?.verified.ver === 2, 3000)
  assert.equal(await served(), 'b')

  writeAtomic(file, 'not a jws at all\n')
  await until(async () => (await json(await fetch(`${admin}/config`))).lastError?.code === 'malformed', 3000)
  assert.equal((await fetch(`${admin}/readyz`)).status, 200)
  assert.equal(await served(), 'b')

  writeAtomic(file, 'x'.repeat(70 * 1024))
  await until(async () => (await json(await fetch(`${admin}/config`))).lastError?.code === 'too_large', 3000)
  assert.match(await (await fetch(`${admin}/metrics`)).text(), /legate_config_updates_total\{result="rejected",reason="too_large"\} 1/)
  assert.equal(await served(), 'b')
})
