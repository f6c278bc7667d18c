/**
 * /metrics: Prometheus text 0.0.4 that `promtool check metrics` accepts, every CONTRACT §5
 * family present from the first scrape, no duplicate series, and bounded labels (raw paths
 * never become label values).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createSigner, rawRequest, startAmbassador, startUpstream, tempDir, until, type Upstream } from './helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { createRegistry } from '../../worker/observe/metrics.ts'
import { createLegateMetrics } from '../../worker/observe/legate-metrics.ts'

const FAMILIES = [
  'legate_requests_total',
  'legate_request_duration_seconds',
  'legate_local_replies_total',
  'legate_upstream_retries_total',
  'legate_endpoint_healthy',
  'legate_config_version',
  'legate_config_updates_total',
]
const hasPromtool = spawnSync('promtool', ['--version']).status === 0

let up: Upstream, amb: RunningAmbassador
before(async () => {
  up = await startUpstream('echo')
  const signer = await createSigner()
  const file = join(tempDir(), 'c.jws')
  writeFileSync(file, await signer.sign({ mesh: 'demo', services: [{ name: 'echo', endpoints: [up.url] }], routes: [] }, 1))
  amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file })
})
after(async () => {
  await amb?.close()
  await up?.close()
})

const scrape = async () => (await fetch(`http://127.0.0.1:${amb.ports.admin}/metrics`)).text()

function promtool(text: string) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

test('every family is exposed before its first event', () => {
  // A fresh set of families, as the ambassador builds it before any request or config.
  const text = createLegateMetrics().registry.render()
  for (const f of FAMILIES) assert.match(text, new RegExp(`^# TYPE ${f} `, 'm'), f)
  assert.match(text, /^legate_config_version 0$/m)
})

test('after traffic: promtool check metrics passes, no duplicate series, no raw paths in labels', { skip: hasPromtool ? false : 'promtool not installed (apt-get install -y prometheus)' }, async () => {
  await until(() => amb.ambassador.holder.current !== undefined)
  for (let i = 0; i < 20; i++) await rawRequest(amb.ports.outbound, { path: `/unique/path/${i}`, headers: { host: 'echo' } })
  await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'nowhere' } })
  const text = await scrape()
  const r = promtool(text)
  assert.equal(r.status, 0, r.output)
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')))
  assert.equal(new Set(series).size, series.length, 'duplicate series')
  assert.doesNotMatch(text, /unique\/path/)
  for (const f of FAMILIES) assert.match(text, new RegExp(`^# TYPE ${f} `, 'm'), f)
  assert.match(text, /legate_endpoint_healthy\{service="echo",endpoint="http:\/\/127\.0\.0\.1:\d+"\} 1/)
  assert.match(text, /legate_request_duration_seconds_bucket\{direction="outbound",route="echo",service="echo",le="\+Inf"\} 20/)
})

test('promtool also accepts a registry with escaped label values', { skip: hasPromtool ? false : 'promtool not installed' }, () => {
  const reg = createRegistry()
  const c = reg.counter('x_total', 'help with \\ backslash\nand newline', ['a'])
  c.inc(['quote " back \\ nl \n'])
  const r = promtool(reg.render())
  assert.equal(r.status, 0, r.output)
  assert.throws(() => c.inc([]), TypeError)
})

test('a reading renders its current value at each scrape, and no sample while it has none', () => {
  const reg = createRegistry()
  let v: number | undefined
  reg.reading('x_seconds_total', 'h', 'counter', () => v)
  assert.equal(reg.render(), '# HELP x_seconds_total h\n# TYPE x_seconds_total counter\n')
  v = 1.5
  assert.match(reg.render(), /^x_seconds_total 1\.5$/m)
  v = 2
  assert.match(reg.render(), /^x_seconds_total 2$/m)
  assert.throws(() => reg.reading('x_seconds_total', 'h', 'gauge', () => 0), /registered twice/)
})

test('process_* families: this process as /proc tells it, sampled at each scrape', async () => {
  // The test's ambassador runs in this process, so its figures are this process's own.
  const first = await scrape()
  const value = (text: string, name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
    assert.ok(m, `${name} missing`)
    return Number(m[1])
  }
  const rss = value(first, 'process_resident_memory_bytes')
  const statusRss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024
  assert.ok(Math.abs(rss - statusRss) < statusRss * 0.2, `rss ${rss} against VmRSS ${statusRss}`)
  assert.ok(value(first, 'process_heap_bytes') > 1e6)
  const start = value(first, 'process_start_time_seconds')
  assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) <= 2, `start ${start}`)
  const openFds = value(first, 'process_open_fds')
  assert.ok(openFds > 3 && Math.abs(openFds - (readdirSync('/proc/self/fd').length - 1)) <= 5, `open fds ${openFds}`)
  assert.ok(value(first, 'process_max_fds') >= openFds)
  // CPU time only grows, and a scrape reads it anew.
  const cpu0 = value(first, 'process_cpu_seconds_total')
  const spinUntil = performance.now() + 30
  while (performance.now() < spinUntil);
  assert.ok(value(await scrape(), 'process_cpu_seconds_total') >= cpu0 + 0.02)
})
