/**
 * Issue 4, acceptance 3: `kill -9` a `legate control` (file store) in the middle of a
 * publish storm, restart it on the same directory, and require that current is a published
 * version that verifies, that no acknowledged publish was lost, that every listed version
 * is whole, and that the dead process's lock does not block the next publish.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configDigest, verifyConfig } from '../../protocol/index.ts'
import { createPublisher, type Publisher } from './fixtures.ts'
import { spawnControl, writeTrust } from './spawn-control.ts'

let pub: Publisher
let dir: string
let trustPath: string
const signed = new Map<number, string>()

before(async () => {
  pub = await createPublisher('ops')
  dir = await mkdtemp(join(tmpdir(), 'legate-kill-'))
  trustPath = await writeTrust(dir, pub.jwks)
  // Signed once for all rounds; each round has its own store directory.
  for (let v = 1; v <= 600; v++) signed.set(v, await pub.sign(v))
})
after(() => rm(dir, { recursive: true, force: true }))

describe('kill -9 during a publish storm (file store)', () => {
  for (const [round, killAfterMs] of [[1, 150], [2, 400], [3, 900]] as const) {
    it(`round ${round}: killed ${killAfterMs} ms into the storm, restarted, current verifies`, async () => {
      const storeDir = join(dir, `store-${round}`)
      const store = `file:${storeDir}`
      let control = await spawnControl({ store, trust: trustPath })
      let next = 1
      let stop = false
      const acknowledged: number[] = []
      // Eight clients publishing ever higher versions as fast as they can.
      const storm = Array.from({ length: 8 }, async () => {
        while (!stop && next <= 600) {
          const v = next++
          try {
            const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', body: signed.get(v) })
            if (res.status === 201) acknowledged.push(v)
            else assert.equal(res.status, 409, `version ${v}: ${res.status} ${await res.text()}`)
          } catch {
            return // the control is gone
          }
        }
      })
      await new Promise((r) => setTimeout(r, killAfterMs))
      await control.kill('SIGKILL')
      stop = true
      await Promise.all(storm)
      assert.ok(acknowledged.length > 0, 'no publish got through before the kill')

      control = await spawnControl({ store, trust: trustPath })
      try {
        const res = await fetch(`${control.url}/v1/meshes/demo/config`)
        assert.equal(res.status, 200)
        const jws = await res.text()
        const verified = await verifyConfig(jws, { trust: pub.trust, mesh: 'demo' })
        assert.equal(jws, signed.get(verified.ver), 'current is not byte-identical to what was published')
        assert.ok(verified.ver >= Math.max(...acknowledged), `current ${verified.ver} is older than acknowledged ${Math.max(...acknowledged)}`)

        // Every listed version is whole: its bytes verify and match the listed digest.
        const versionsDir = join(storeDir, 'meshes', 'demo', 'versions')
        const names = await readdir(versionsDir)
        const listed = names.filter((n) => /^[0-9]+\.json$/.test(n))
        for (const name of listed) {
          const meta = JSON.parse(await readFile(join(versionsDir, name), 'utf8'))
          const bytes = await readFile(join(versionsDir, `${meta.version}.jws`), 'utf8')
          assert.equal(bytes, signed.get(meta.version))
          assert.equal(meta.digest, await configDigest(bytes))
        }
        for (const v of acknowledged) assert.ok(listed.includes(`${v}.json`), `acknowledged version ${v} is not listed`)
        const current = JSON.parse(await readFile(join(storeDir, 'meshes', 'demo', 'current'), 'utf8'))
        assert.equal(current.version, verified.ver)

        // The killed process may have died holding the lock: the next publish must still go through.
        const after = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', body: await pub.sign(10_000) })
        assert.equal(after.status, 201, await after.text())
        const leftovers = names.filter((n) => n.endsWith('.tmp')).length
        console.log(`# kill -9 round ${round}: ${acknowledged.length} acknowledged, current ${verified.ver}, ${listed.length} listed, ${leftovers} temp file(s) left (never read)`)
      } finally {
        await control.kill()
      }
    })
  }
})
