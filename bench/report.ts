/**
 * BENCHMARKS.md and docs/bench/*.svg from a results file. Run by `npm run bench` at the end,
 * or alone: `node --import tsx bench/report.ts [bench/results/<date>.json]` (default: the
 * newest). The hand-written analysis (profiles, where the time goes) lives in
 * bench/analysis.md and is included as it is.
 * @module
 */
import { readFileSync, writeFileSync, readdirSync, mkdirSync, existsSync } from 'node:fs'
import { join, relative } from 'node:path'
import { barChart, type Bar } from './lib/svg.ts'

const ROOT = new URL('../', import.meta.url).pathname

interface PeerResult {
  rounds: Record<string, number>[]
  median: Record<string, number>
  spread: Record<string, number>
}
interface Results {
  date: string
  label?: string
  machine: { cpus: number; cpuModel: string; memGiB: number; kernel: string; loadBefore: { loadavg1: number; busyPct: number; stealPct?: number }; loadAfter: { loadavg1: number; busyPct: number; stealPct?: number }; loadDuring?: { loadavg1: number; busyPct: number; stealPct?: number; at: string }[] }
  versions: Record<string, string>
  options: { scenarios: string[]; rounds: number; durationS: number; warmupS: number; rate: number; upstream: string; proxyCore: number; loadCore: number; generator?: 'native' | 'node'; generatorNote?: string; generatorRealtime?: boolean; peersRealtime?: boolean }
  peers: Record<string, string>
  results: Record<string, Record<string, PeerResult>>
  scale?: any
  propagation?: any
  policy?: any
}

const GROUP: Record<string, string> = {
  direct: 'direct',
  'node-undici': 'bare',
  'bun-fetch': 'bare',
  'deno-fetch': 'bare',
  nginx: 'proxy',
  haproxy: 'proxy',
  'http-proxy': 'proxy',
  'legate-node': 'legate',
  'legate-node-tsx': 'legate',
  'legate-bun': 'legate',
  'legate-deno': 'legate',
}
const DESCRIBE: Record<string, string> = {
  direct: 'wrk / the open-loop generator straight to the upstream',
  'node-undici': 'bare forwarder: node:http + undici `Pool.stream` (bench/forwarders/node-undici.ts)',
  'bun-fetch': 'bare forwarder: `Bun.serve` + fetch (bench/forwarders/bun-fetch.ts)',
  'deno-fetch': 'bare forwarder: `Deno.serve` + fetch (bench/forwarders/deno-fetch.ts)',
  nginx: 'nginx reverse proxy, 1 worker, keep-alive upstream (`keepalive 128`), no access log',
  haproxy: 'haproxy, 1 thread, `http-reuse always`',
  'http-proxy': 'node `http-proxy` with a keep-alive agent',
  'legate-node': '`legate ambassador` on Node as shipped (bin/legate.js runs the esbuild bundle `npm ci` builds), access log at info to /dev/null',
  'legate-node-tsx': 'diagnostic: the same CLI from the sources through the tsx loader (after an edit, before the next build)',
  'legate-bun': '`bun bin/legate.js ambassador …` (the Bun entry: Bun.serve, fetch upstream), access log at info to /dev/null',
  'legate-deno': '`deno run -A cli/main.ts ambassador …` (the Deno entry: Deno.serve, fetch upstream), access log at info to /dev/null',
}
const BARE_OF: Record<string, string> = { 'legate-node': 'node-undici', 'legate-node-tsx': 'node-undici', 'legate-bun': 'bun-fetch', 'legate-deno': 'deno-fetch' }

const f = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toFixed(d))
const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '–' : `±${Math.round(v * 50)}%`)
const ratio = (a: number | undefined, b: number | undefined) => (a && b && Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}×` : '–')

export function newestResults(): string {
  const dir = join(ROOT, 'bench/results')
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
  if (!files.length) throw new Error('no results in bench/results')
  return join(dir, files[files.length - 1]!)
}

function chart(name: string, svg: string): string {
  const dir = join(ROOT, 'docs/bench')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.svg`), svg)
  return `![${name}](docs/bench/${name}.svg)`
}

/** Which generator measured the latency table (results before options.generator existed: the Node one). */
function generatorMethod(o: Results['options']): string {
  if (o.generator === 'native')
    return `bench/lib/openloop.c, a native open-loop generator (C, one thread, epoll, a timerfd at each request's due time, up to 64 keep-alive connections; compiled on demand with \`cc -O2\`${o.generatorRealtime ? '; scheduled SCHED_FIFO so that other work on the machine does not delay it' : ''}) that`
  const why = o.generatorNote && /unavailable/.test(o.generatorNote) ? ` (the native bench/lib/openloop.c was unavailable: ${o.generatorNote.replace(/^.*unavailable: /, '')})` : ''
  return `bench/lib/open-loop.ts, an open-loop generator in Node + undici${why} (up to 64 keep-alive connections; its own send lag reaches about 1 ms at p99, more than the 0.3 ms to judge) that`
}

export function writeReport(file: string): void {
  const r: Results = JSON.parse(readFileSync(file, 'utf8'))
  const md: string[] = []
  const res = r.results
  const tp = res.throughput ?? {}
  const lat = res.latency ?? {}
  const order = Object.keys(r.peers)
  const peersIn = (s: Record<string, PeerResult>) => order.filter((p) => s[p])

  md.push(`# Benchmarks`, '')
  md.push(
    `Generated by \`npm run bench\` (bench/run.ts) from [\`${relative(ROOT, file)}\`](${relative(ROOT, file)}) on ${r.date}${r.label ? ` — ${r.label}` : ''}. ` +
      `Regenerate the page from a results file with \`node --import tsx bench/report.ts FILE\`. ` +
      `Compare figures only within one run: between runs and machines they swing by ±30%.`,
    '',
  )

  // Scenarios re-run alone (more rounds, a fix) and merged into this results file, with why.
  const reruns = (r as { reruns?: { scenarios: string[]; date: string; note: string }[]; latencyRun?: { date: string; note: string } }).reruns ?? []
  const legacy = (r as { latencyRun?: { date: string; note: string } }).latencyRun
  if (legacy) reruns.push({ scenarios: ['latency'], ...legacy })
  for (const x of reruns) md.push(`The ${x.scenarios.join(' and ')} tables come from a re-run of ${x.scenarios.length > 1 ? 'those scenarios' : 'that scenario'} alone (${x.date}): ${x.note}.`, '')
  md.push('How busy the machine was around the run is under "Machine and versions" below: on a shared machine a disturbed round shows there and in the spread columns.', '')

  // ---- goals -------------------------------------------------------------------------------
  const goals: string[][] = []
  const ln = tp['legate-node']?.median.rps
  const bn = tp['node-undici']?.median.rps
  const lc = tp['legate-node']?.median.cpuUsPerReq
  const bc = tp['node-undici']?.median.cpuUsPerReq
  goals.push([
    'Node: legate ≥ 0.9× the bare Node forwarder (req/s, 100 B)',
    ln && bn ? `${(ln / bn).toFixed(2)}× req/s; CPU per request ${lc && bc ? `${f(lc, 1)} vs ${f(bc, 1)} µs (${(bc / lc).toFixed(2)}×)` : '–'}` : 'not measured',
    ln && bn ? (ln / bn >= 0.9 ? 'met' : 'missed') : '–',
  ])
  const legates = ['legate-node', 'legate-bun', 'legate-deno'].filter((p) => tp[p])
  const best = legates.sort((a, b) => tp[b]!.median.rps! - tp[a]!.median.rps!)[0]
  const ng = tp.nginx?.median.rps
  goals.push(['fastest runtime: legate ≥ 0.6× nginx (req/s, 100 B)', best && ng ? `${(tp[best]!.median.rps! / ng).toFixed(2)}× (${best})` : 'not measured', best && ng ? (tp[best]!.median.rps! / ng >= 0.6 ? 'met' : 'missed') : '–'])
  const direct99 = lat.direct?.median.p99Ms
  const added = ['legate-node', 'legate-bun', 'legate-deno'].filter((p) => lat[p]).map((p) => [p, lat[p]!.median.addedP99Ms ?? lat[p]!.median.p99Ms! - direct99!] as const)
  const bestAdded = added.sort((a, b) => a[1] - b[1])[0]
  const lag = Math.max(...Object.values(lat).map((x) => x.median.sendLagP99Ms ?? 0), 0)
  const noisy = lag > 0.3 || (direct99 ?? 0) > 2
  goals.push([
    'added p99 per hop ≤ 0.3 ms at 1,000 req/s',
    bestAdded && direct99 !== undefined ? added.map(([p, v]) => `${p} ${v.toFixed(3)} ms`).join(', ') + ` (direct p99 ${f(direct99, 3)} ms; ${r.options.generator === 'native' ? 'openloop.c' : 'open-loop.ts'} send lag p99 up to ${f(lag, 3)} ms${noisy ? ': too noisy to judge 0.3 ms on this run' : ''})` : 'not measured',
    bestAdded ? (noisy ? 'not judged' : bestAdded[1] <= 0.3 ? 'met' : 'missed') : '–',
  ])
  const rss = ['legate-node', 'legate-bun', 'legate-deno'].filter((p) => lat[p]).map((p) => [p, lat[p]!.median.rssMb!] as const)
  goals.push(['RSS ≤ 60 MB at 1,000 req/s on at least one runtime', rss.length ? rss.map(([p, v]) => `${p} ${v.toFixed(0)} MB`).join(', ') : 'not measured', rss.length ? (rss.some(([, v]) => v <= 60) ? 'met' : 'missed') : '–'])
  const p10k = r.scale?.points?.find((p: any) => p.routes === 10000)
  goals.push([
    '10,000 routes compile in < 100 ms (issue 5)',
    p10k ? `${f(p10k.compileMs, 1)} ms (with verification, the whole apply: ${f(p10k.applyMs, 1)} ms; a next version with 1% of routes changed: ${f(p10k.updateApplyMs, 1)} ms)` : 'not measured',
    p10k ? (p10k.compileMs < 100 ? 'met' : 'missed') : '–',
  ])
  const lp = r.propagation?.cases?.find((c: any) => c.clients === 1000)
  goals.push(['publish → applied p99 < 1 s at 1,000 long-polling clients', lp ? `${f(lp.p99Ms, 1)} ms` : 'not measured', lp ? (lp.p99Ms < 1000 ? 'met' : 'missed') : '–'])
  md.push('## Goals (issues 5 and 9)', '', '| goal | measured | |', '|---|---|---|', ...goals.map((g) => `| ${g.join(' | ')} |`), '')

  // ---- machine -----------------------------------------------------------------------------
  md.push('## Machine and versions', '')
  md.push(
    `${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Linux ${r.machine.kernel}. ` +
      `Machine busy (all cores, 1 s sample) before the run: ${r.machine.loadBefore.busyPct}% (load average ${r.machine.loadBefore.loadavg1}); after: ${r.machine.loadAfter.busyPct}% (load average ${r.machine.loadAfter.loadavg1}). ` +
      `The bench's own processes are idle at those two moments, so anything above a few percent is other work on the machine.` +
      (r.machine.loadDuring?.length ? ` Between scenarios (bench idle for 0.2 s): ${r.machine.loadDuring.map((x) => `${x.busyPct}% busy, load average ${x.loadavg1} (${x.at})`).join('; ')}; the load average also counts the bench's own work of the last minute.` : '') +
      (r.machine.loadBefore.stealPct !== undefined ? ` CPU steal time (a virtual machine's host taking the CPU away): ${r.machine.loadBefore.stealPct}% before, ${r.machine.loadAfter.stealPct}% after.` : ''),
    '',
  )
  md.push(Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(' · '), '')
  md.push('| peer | what | status |', '|---|---|---|')
  for (const [k, v] of Object.entries(r.peers)) md.push(`| ${k} | ${DESCRIBE[k] ?? ''} | ${v} |`)
  md.push('')

  // ---- method ------------------------------------------------------------------------------
  md.push('## Method', '')
  md.push(
    [
      `- One fixed upstream for every peer: ${r.options.upstream === 'nginx' ? 'nginx (1 worker) answering `/100b` from memory, `/64k` and `/1m` as static files (sendfile), and reading `POST /upload` bodies' : 'bench/upstream.ts (node:http, fixed bodies)'}. "direct" is the load generator against the upstream itself.`,
      `- The proxy and the upstream are pinned to core ${r.options.proxyCore}, the load generator to core ${r.options.loadCore} (\`taskset\`). Every peer runs with one worker/thread for requests (nginx \`worker_processes 1\`, haproxy \`nbthread 1\`).`,
      `- Each scenario: a ${r.options.warmupS} s warm-up per peer, then ${r.options.rounds} rounds of ${r.options.durationS} s; in each round the peers take turns, so a disturbance from outside spreads over all of them. Tables give the median of the rounds and the spread (±half of (max − min)/median).`,
      `- Max throughput: \`wrk -t1\` with keep-alive connections (32 for 100 B and 64 KiB, 16 for 1 MiB), \`--latency\` for p50/p99. Closed-loop latencies under saturation are queueing figures, not per-hop costs.`,
      `- CPU µs per request: the utime + stime of the peer's process tree (/proc/<pid>/stat, all threads and children) over the run, divided by the requests wrk completed. It is the figure least disturbed by a shared machine. RSS: VmRSS of the tree (/proc/<pid>/status) at the end of the run. The raw results also count the connections the upstream accepted during each run (nginx stub_status): after the warm-up a peer that reuses its upstream connections opens none.`,
      `- Added latency at a fixed ${r.options.rate} req/s (rounds of ${Math.max(r.options.durationS, 5)} s, each after 1 s unrecorded at the same rate): ${generatorMethod(r.options)} schedules every request at a fixed time and measures each latency from its *scheduled* time to the end of its response, so a stall counts against every request that should have left during it (no coordinated omission). "Added" is the median over rounds of the peer's percentile minus direct's percentile in the same round. The generator's own send lag (actual send − scheduled; its p50/p99/p99.9 are in the raw results) is part of both and cancels only on average.${r.options.peersRealtime ? ' During its latency runs the peer under test and the upstream ran SCHED_FIFO (all their threads at priority 1; ordinary scheduling again right after), so that other work on the shared machine does not delay them (`--realtime-peers`; a multi-threaded runtime can livelock under it, which shows as errors).' : ''}`,
      `- legate: \`legate ambassador --config-file <signed JWS> --mesh bench --trust <jwks> --outbound <port>\`; the config (one service \`echo\` → the upstream) is made with \`legate keygen\` and \`legate sign\`; requests carry \`Host: echo\`.`,
    ].join('\n'),
    '',
  )

  md.push('## Running it', '')
  md.push(
    [
      '```sh',
      'apt-get install -y wrk nginx haproxy      # peers and load generator (Debian); a missing one is skipped',
      'npm run bench                             # everything: ~15 min; writes bench/results/<date>.json, BENCHMARKS.md, docs/bench/*.svg',
      'npm run bench -- --scenario throughput,latency --rounds 5 --duration 5 --peers nginx,legate-node',
      'npm run bench -- --upstream node          # bench/upstream.ts instead of nginx as the fixed upstream',
      'node --import tsx bench/report.ts bench/results/<date>.json   # this page from a results file',
      'node --import tsx bench/profile.ts --peers legate-node,node-undici [--path /upload]   # where the time goes',
      '```',
      '',
      'Scenarios: `throughput` (100 B), `latency` (open loop), `body64k`, `body1m`, `upload1m`, `policy`, `scale`, `propagation`. ' +
        'Knobs: `LEGATE_BENCH_SCALE_SIZES=10,1000`, `LEGATE_BENCH_PROPAGATION_SAMPLES=10`, `LEGATE_BENCH_NODE_FLAGS="--cpu-prof …"` (node flags for legate-node and the policy ambassadors). ' +
        'Ports 19100–19260 on 127.0.0.1 only; every process the bench starts is stopped at the end, also on error and Ctrl-C.',
    ].join('\n'),
    '',
  )

  // ---- throughput-like tables -----------------------------------------------------------------
  const wrkTable = (name: string, title: string, s: Record<string, PeerResult>) => {
    const nginx = s.nginx?.median
    const direct = s.direct?.median
    md.push(`## ${title}`, '')
    md.push('| peer | req/s | spread | × nginx | × direct | × bare runtime | p50 ms | p99 ms | CPU µs/req | CPU × nginx | RSS MB | new upstream conns/run |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
    for (const p of peersIn(s)) {
      const m = s[p]!.median
      const bare = BARE_OF[p] ? s[BARE_OF[p]!]?.median.rps : undefined
      const errs = s[p]!.rounds.reduce((a, x) => a + (x.errors ?? 0) + (x.non2xx ?? 0), 0)
      md.push(
        `| ${p}${errs ? ` (${errs} errors)` : ''} | ${f(m.rps, 0)} | ${pct(s[p]!.spread.rps)} | ${ratio(m.rps, nginx?.rps)} | ${ratio(m.rps, direct?.rps)} | ${bare ? ratio(m.rps, bare) : ''} | ${f(m.p50Ms)} | ${f(m.p99Ms)} | ${f(m.cpuUsPerReq, 1)} | ${p === 'direct' ? '' : ratio(m.cpuUsPerReq, nginx?.cpuUsPerReq)} | ${f(m.rssMb, 0)} | ${p === 'direct' ? '' : f(m.upstreamConnections, 0)} |`,
      )
    }
    md.push('')
    const bars: Bar[] = peersIn(s).map((p) => ({ label: p, value: s[p]!.median.rps!, group: GROUP[p], note: nginx?.rps ? `${(s[p]!.median.rps! / nginx.rps!).toFixed(2)}× nginx` : undefined }))
    md.push(chart(`${name}-rps`, barChart({ title: `${title}: requests per second`, unit: 'req/s, median, higher is better', bars })), '')
    const cpuBars: Bar[] = peersIn(s).filter((p) => p !== 'direct').map((p) => ({ label: p, value: s[p]!.median.cpuUsPerReq!, group: GROUP[p], note: nginx?.cpuUsPerReq ? `${(s[p]!.median.cpuUsPerReq! / nginx.cpuUsPerReq!).toFixed(1)}× nginx` : undefined }))
    md.push(chart(`${name}-cpu`, barChart({ title: `${title}: proxy CPU per request`, unit: 'µs, lower is better', bars: cpuBars })), '')
  }
  if (res.throughput) wrkTable('throughput', '100 B GET, 32 connections', res.throughput)

  if (res.latency) {
    const d = lat.direct?.median
    md.push(`## Added latency at a fixed ${r.options.rate} req/s (open loop)`, '')
    md.push('| peer | p50 ms | p99 ms | p99.9 ms | added p50 | added p99 | added p99.9 | spread p99 | CPU µs/req | RSS MB | peak RSS MB |', '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|')
    for (const p of peersIn(lat)) {
      const m = lat[p]!.median
      // Median over rounds of (peer − direct in the same round); older results: difference of medians.
      const add = (k: string) => (d && p !== 'direct' ? f(m[`added${k[0]!.toUpperCase()}${k.slice(1)}`] ?? m[k]! - d[k]!, 3) : '')
      md.push(`| ${p} | ${f(m.p50Ms, 3)} | ${f(m.p99Ms, 3)} | ${f(m.p999Ms, 3)} | ${add('p50Ms')} | ${add('p99Ms')} | ${add('p999Ms')} | ${pct(lat[p]!.spread.p99Ms)} | ${f(m.cpuUsPerReq, 1)} | ${f(m.rssMb, 0)} | ${f(m.peakRssMb, 0)} |`)
    }
    md.push('')
    if (d) {
      const bars: Bar[] = peersIn(lat).filter((p) => p !== 'direct').map((p) => ({ label: p, value: lat[p]!.median.addedP99Ms ?? lat[p]!.median.p99Ms! - d.p99Ms!, group: GROUP[p] }))
      md.push(chart('latency-added-p99', barChart({ title: `Added p99 at ${r.options.rate} req/s`, unit: 'ms over direct, lower is better', bars })), '')
    }
    const rssBars: Bar[] = peersIn(lat).filter((p) => p !== 'direct').map((p) => ({ label: p, value: lat[p]!.median.rssMb!, group: GROUP[p] }))
    md.push(chart('rss', barChart({ title: `RSS at ${r.options.rate} req/s`, unit: 'MB, lower is better', bars: rssBars })), '')
  }
  if (res.body64k) wrkTable('body64k', '64 KiB responses, 32 connections', res.body64k)
  if (res.body1m) wrkTable('body1m', '1 MiB responses, 16 connections', res.body1m)
  if (res.upload1m) wrkTable('upload1m', '1 MiB uploads (POST), 16 connections', res.upload1m)

  // ---- policy, scale and propagation ------------------------------------------------------
  if (r.policy) {
    md.push('## Policy path against the core path (legate on Node, inbound)', '')
    if (r.policy.method) md.push(r.policy.method, '')
    const c = r.policy.core?.median
    const p = r.policy.policy?.median
    if (c && p) {
      md.push('| path | req/s | × core | CPU µs/req | added CPU µs/req | p50 ms | p99 ms | RSS MB |', '|---|--:|--:|--:|--:|--:|--:|--:|')
      md.push(`| core (no policies, no token) | ${f(c.rps, 0)} | 1.00× | ${f(c.cpuUsPerReq, 1)} | | ${f(c.p50Ms)} | ${f(c.p99Ms)} | ${f(c.rssMb, 0)} |`)
      md.push(`| identity + 100 authz policies + rate limit | ${f(p.rps, 0)} | ${ratio(p.rps, c.rps)} | ${f(p.cpuUsPerReq, 1)} | ${f(p.cpuUsPerReq - c.cpuUsPerReq, 1)} | ${f(p.p50Ms)} | ${f(p.p99Ms)} | ${f(p.rssMb, 0)} |`)
      md.push('')
      if (r.policy.policyWithoutTokenStatus) md.push(`(Check: the same request without a token is answered ${r.policy.policyWithoutTokenStatus} by the policy config.)`, '')
    }
    if (r.policy.error) md.push(`Failed: ${r.policy.error}`, '')
    if (r.policy.skipped) md.push(`Not measured: ${r.policy.skipped}`, '')
  }
  if (r.scale) {
    md.push('## Config scale', '')
    if (r.scale.method) md.push(r.scale.method, '')
    if (r.scale.points?.length) {
      md.push(
        '| routes | JWS bytes | verify ms | of which decode + JSON | of which schema | compile ms | apply ms (verify + compile) | snapshot heap MB | lookup ns | ambassador start → ready ms | RSS MB | req/s (last route) | CPU µs/req |',
        '|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
      )
      for (const p of r.scale.points)
        md.push(
          `| ${f(p.routes, 0)} | ${f(p.jwsBytes, 0)} | ${f(p.verifyMs, 1)} | ${f(p.decodeMs, 1)} | ${f(p.schemaMs, 1)} | ${f(p.compileMs, 1)} | ${f(p.applyMs, 1)} | ${f(p.snapshotHeapMb, 1)} | ${f(p.lookupNs, 0)} | ${f(p.startToReadyMs, 0)} | ${f(p.rssMb, 0)} | ${f(p.rps, 0)} | ${f(p.cpuUsPerReq, 1)} |`,
        )
      md.push('')
      const bars: Bar[] = r.scale.points.filter((p: any) => Number.isFinite(p.applyMs)).map((p: any) => ({ label: `${f(p.routes, 0)} routes`, value: p.applyMs, group: 'legate', note: `verify ${f(p.verifyMs, 1)} + compile ${f(p.compileMs, 1)}` }))
      md.push(chart('scale-apply', barChart({ title: 'Config apply time (verify + compile)', unit: 'ms, lower is better', bars })), '')
    }
    if (r.scale.skipped) md.push(`Not measured: ${r.scale.skipped}`, '')
  }
  if (r.propagation) {
    md.push('## Propagation: publish → applied', '')
    if (r.propagation.method) md.push(r.propagation.method, '')
    if (r.propagation.cases?.length) {
      md.push('| case | samples | p50 ms | p99 ms | max ms |', '|---|--:|--:|--:|--:|')
      for (const c of r.propagation.cases) md.push(`| ${c.name} | ${c.samples} | ${f(c.p50Ms, 1)} | ${f(c.p99Ms, 1)} | ${f(c.maxMs, 1)} |`)
      md.push('')
    }
    if (r.propagation.skipped) md.push(`Not measured: ${r.propagation.skipped}`, '')
  }

  const disturbed: string[] = []
  for (const [sc, peers] of Object.entries(res)) for (const [p, pr] of Object.entries(peers)) pr.rounds.forEach((x, i) => {
    if ((x.listenDrops ?? 0) > 0 || (x.synRetrans ?? 0) > 0) disturbed.push(`${sc}/${p} round ${i + 1} (${x.listenDrops} listen drops, ${x.synRetrans} SYN retransmits)`)
  })
  if (disturbed.length) md.push('## Disturbed runs', '', `Machine-wide TCP counters moved during these runs (SYNs dropped by a full listen queue, SYN retransmits: connections that waited a second or more). On a shared machine that can be anyone's listener; their figures are in the medians above, and the medians of the other rounds hold: ${disturbed.join('; ')}.`, '')

  const analysis = join(ROOT, 'bench/analysis.md')
  if (existsSync(analysis)) md.push(readFileSync(analysis, 'utf8').trim(), '')
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), md.join('\n'))
  process.stderr.write(`wrote BENCHMARKS.md and docs/bench/*.svg from ${relative(ROOT, file)}\n`)
}

if (import.meta.url === `file://${process.argv[1]}`) writeReport(process.argv[2] ?? newestResults())
