/**
 * The conformance suite: one signed config published once to one control, ambassadors on
 * Node, Bun, Deno and workerd (Miniflare) started once each, and every case of `cases.ts`
 * run against each. Then version 2 is published (applied everywhere) and version 3, signed
 * by a key the ambassadors do not pin (refused everywhere, version 2 keeps serving).
 * Prints the cases × runtimes matrix at the end. A runtime whose binary is missing is
 * skipped as a whole, saying so.
 */
import { test, before, after } from 'node:test'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { configDigest, signConfig } from '../../protocol/index.ts'
import { createIdentityMinter } from '../../protocol/identity/mint.ts'
import { startControl, type NodeControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { makeKey, type TestKey } from '../helpers/keys.ts'
import { startUpstream, until, type Upstream } from '../worker/helpers.ts'
import { cases, afterUpdate, afterBadConfig, json, type Case, type Runtime } from './cases.ts'
import { meshConfig, type MeshUrls } from './mesh.ts'
import { freePort, ROOT, startCliTarget, startWorkerdTarget, type Target } from './targets.ts'

const RUNTIMES: Runtime[] = ['node', 'bun', 'deno', 'workerd']
const installed = (name: string) => spawnSync(join(ROOT, 'node_modules/.bin', name), ['--version']).status === 0
const missing: Partial<Record<Runtime, string>> = {
  ...(installed('bun') ? {} : { bun: 'bun binary not installed' }),
  ...(installed('deno') ? {} : { deno: 'deno binary not installed' }),
}

let echo: Upstream, v2: Upstream, hang: Upstream, body: Upstream, control: NodeControl, ops: TestKey, rogue: TestKey, frontend: TestKey, urls: MeshUrls
let digest = ''
const tokens = { frontend: '', forged: '' }
const targets = new Map<Runtime, Target>()
const failedToStart = new Map<Runtime, string>()
const matrix = new Map<string, Map<Runtime, string>>()

const sign = (key: TestKey, version: 1 | 2, ver: number) => signConfig(meshConfig(urls, version, frontend.publicJwk), { key: key.key, kid: key.kid, alg: key.alg, ver, iss: 'conformance' })
async function publish(jws: string) {
  const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', headers: { 'content-type': 'application/jwt' }, body: jws })
  if (res.status !== 201) throw new Error(`publish answered ${res.status}: ${await res.text()}`)
}

before(async () => {
  ;[echo, v2, ops, rogue, frontend] = await Promise.all([startUpstream('echo'), startUpstream('v2'), makeKey('ops'), makeKey('rogue'), makeKey('frontend-1')])
  // Tokens live 5 minutes: longer than the suite. The forged one claims frontend with a key no service has.
  tokens.frontend = await createIdentityMinter({ service: 'frontend', key: frontend }).token('echo')
  tokens.forged = await createIdentityMinter({ service: 'frontend', key: { ...(await makeKey('frontend-1')) } }).token('echo')
  hang = await startUpstream('hang', () => {})
  body = await startUpstream('body', (req, res) => {
    const hash = createHash('sha256')
    let length = 0
    req.on('data', (c: Buffer) => (hash.update(c), (length += c.length)))
    req.on('end', () => res.end(JSON.stringify({ name: 'body', length, sha256: hash.digest('hex') })))
  })
  urls = { echo: echo.url, v2: v2.url, dead: `http://127.0.0.1:${await freePort()}`, hang: hang.url, body: body.url }
  // The control trusts both publishers; the ambassadors pin `ops` only.
  control = await startControl({ store: memoryStore(), trust: await (await import('../helpers/keys.ts')).trustOf(ops, rogue), port: 0, hostname: '127.0.0.1' })
  const v1 = await sign(ops, 1, 1)
  digest = await configDigest(v1)
  await publish(v1)
  const options = { control: control.url, trust: { keys: [ops.publicJwk] }, app: echo.url }
  await Promise.all(
    RUNTIMES.filter((r) => !missing[r]).map(async (runtime) => {
      try {
        targets.set(runtime, runtime === 'workerd' ? await startWorkerdTarget(options) : await startCliTarget(runtime, options))
      } catch (err) {
        failedToStart.set(runtime, (err as Error).message)
      }
    }),
  )
})

after(async () => {
  await Promise.all([...targets.values()].map((t) => t.close()))
  await Promise.all([echo?.close(), v2?.close(), hang?.close(), body?.close(), control?.close()])
  const rows = [...matrix.entries()].map(([name, byRuntime]) => `| ${name} | ${RUNTIMES.map((r) => byRuntime.get(r) ?? '—').join(' | ')} |`)
  const table = [`| case | ${RUNTIMES.join(' | ')} |`, `|---|${RUNTIMES.map(() => '---').join('|')}|`, ...rows].join('\n')
  console.log('\n' + table)
  // The matrix in docs/runtimes.md is this file: LEGATE_CONFORMANCE_MATRIX=out.md npm test -- test/conformance/
  if (process.env.LEGATE_CONFORMANCE_MATRIX) writeFileSync(process.env.LEGATE_CONFORMANCE_MATRIX, table + '\n')
})

function run(phase: string, list: Case[]) {
  for (const c of list) {
    const name = phase ? `${phase}: ${c.name}` : c.name
    for (const runtime of RUNTIMES) {
      const limit = c.limits?.[runtime] ?? missing[runtime]
      test(`${runtime} › ${name}`, { skip: limit ? `platform limit: ${limit}` : false, timeout: 30_000 }, async () => {
        const row = matrix.get(name) ?? matrix.set(name, new Map()).get(name)!
        row.set(runtime, 'FAIL')
        const target = targets.get(runtime)
        if (!target) throw new Error(`${runtime} did not start: ${failedToStart.get(runtime)}`)
        const ctx = { digest, runtime, tokens }
        let res
        for (const req of typeof c.send === 'function' ? [c.send(ctx)] : Array.isArray(c.send) ? c.send : [c.send]) res = await target.send(c.via, req)
        c.check(res!, ctx)
        row.set(runtime, 'pass')
      })
      if (limit) (matrix.get(name) ?? matrix.set(name, new Map()).get(name)!).set(runtime, `limit`)
    }
  }
}

/** Publishes, then waits (bounded) until every running target's /config shows `done`. */
function publishStep(name: string, make: () => Promise<string>, done: (config: Record<string, any>) => boolean) {
  test(name, { timeout: 60_000 }, async () => {
    await publish(await make())
    await Promise.all(
      [...targets.values()].map((t) =>
        until(async () => done(json(await t.send('admin', { path: '/config' }))), 20_000, 100).catch((err) => {
          throw new Error(`${t.runtime}: ${err.message}`)
        }),
      ),
    )
  })
}

run('', cases)
publishStep('publish version 2 once: every runtime applies it', () => sign(ops, 2, 2), (c) => c.version === 2)
run('', afterUpdate)
publishStep('publish version 3 signed by an unpinned key: every runtime refuses it', () => sign(rogue, 2, 3), (c) => c.lastError?.code === 'untrusted_key')
run('', afterBadConfig)
