/**
 * The policy flags through the real `legate` binary, as an operator runs it: workload keys
 * from `legate keygen`, a frontend ambassador with `--identity-key`, a reviews ambassador
 * with `--ratelimit-store redis://…` and a global rate limit that only lets `frontend` in.
 * The frontend app's call reaches the reviews app as `x-legate-source: frontend`, and the
 * shared bucket in Redis refuses the call past the limit.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BIN, legate } from '../cli/legate.ts'
import { hasRedis, startRedis, freePort, type RedisServer } from '../stores/redis-server.ts'
import { startUpstream, tempDir, until, type Upstream } from '../worker/helpers.ts'
import { send } from './fixtures.ts'

const skip = hasRedis() ? false : 'redis-server is not installed'
let redis: RedisServer
let app: Upstream
const children: ChildProcess[] = []
let frontendOut: number
let reviewsIn: number

function ambassador(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'ambassador', ...args, '--log-level', 'silent'], { stdio: ['ignore', 'ignore', 'pipe'] })
  children.push(child)
  return child
}

before(async () => {
  if (skip) return
  redis = await startRedis()
  app = await startUpstream('reviews-app')
  const dir = tempDir()
  const at = (f: string) => join(dir, f)
  for (const [kid, out] of [['ops', 'ops'], ['frontend-1', 'frontend'], ['reviews-1', 'reviews']]) assert.equal((await legate(['keygen', '--kid', kid!, '--out', at(out!)])).code, 0)
  const pub = (name: string) => (JSON.parse(readFileSync(at(`${name}.jwks.json`), 'utf8')) as { keys: unknown[] }).keys
  ;[frontendOut, reviewsIn] = [await freePort(), await freePort()]
  const config = {
    mesh: 'demo',
    services: [
      { name: 'reviews', endpoints: [`http://127.0.0.1:${reviewsIn}`], identity: { keys: pub('reviews') } },
      { name: 'frontend', endpoints: ['http://127.0.0.1:9'], identity: { keys: pub('frontend') } },
    ],
    policies: {
      authorization: [{ name: 'frontend-only', targets: ['reviews'], rules: [{ from: [{ services: ['frontend'] }] }] }],
      rateLimits: [{ name: 'shared', targets: ['reviews'], key: 'source-service', scope: 'global', failureMode: 'closed', limit: { requests: 3, per: '1m' } }],
    },
  }
  writeFileSync(at('mesh.json'), JSON.stringify(config))
  assert.equal((await legate(['sign', at('mesh.json'), '--key', at('ops.private.jwk.json'), '-o', at('mesh.jws')])).code, 0)
  const common = ['--config-file', at('mesh.jws'), '--mesh', 'demo', '--trust', at('ops.jwks.json')]
  ambassador([...common, '--service', 'reviews', '--app', app.url, '--inbound', String(reviewsIn), '--outbound', String(await freePort()), '--admin', String(await freePort()), '--ratelimit-store', redis.url])
  ambassador([...common, '--service', 'frontend', '--identity-key', at('frontend.private.jwk.json'), '--outbound', String(frontendOut), '--admin', String(await freePort())])
  await until(async () => (await send('127.0.0.1', frontendOut, { path: '/', headers: { host: 'nowhere' } }).catch(() => undefined))?.status === 404, 10_000, 100)
  await until(async () => (await send('127.0.0.1', reviewsIn, { path: '/', headers: { host: 'reviews' } }).catch(() => undefined))?.status === 403, 10_000, 100)
})

after(async () => {
  for (const c of children) c.kill('SIGTERM')
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)))
  await app?.close()
  await redis?.stop()
})

test('legate ambassador --identity-key and --ratelimit-store: identity reaches the app, the Redis bucket limits the caller', { skip, timeout: 30_000 }, async () => {
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await send('127.0.0.1', frontendOut, { path: `/reviews/${i}`, headers: { host: 'reviews' } })).status)
  assert.deepEqual(statuses, [200, 200, 200, 429, 429])
  assert.equal(app.seen.at(-1)!.headers['x-legate-source'], 'frontend')
  assert.equal(app.seen.at(-1)!.headers['legate-identity'], undefined)
  // the bucket lives in Redis, keyed by policy and source
  const keys = await new Promise<string>((resolve) => {
    const cli = spawn('redis-cli', ['-p', String(redis.port), 'keys', 'legate:rl:*'])
    let out = ''
    cli.stdout.on('data', (d: Buffer) => (out += d))
    cli.on('close', () => resolve(out.trim()))
  })
  assert.equal(keys, 'legate:rl:shared:frontend')
})
