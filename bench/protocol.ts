/**
 * `npx tsx bench/protocol.ts [--runs 1]`: how long the signed-config protocol takes.
 * Sign and verify (EdDSA and ES256) for a ~10 KB and a ~1 MB config document, schema
 * validation and YAML parsing of examples/mesh.yaml. Each case is warmed up, then run many
 * times; the median, p90 and minimum of single runs are printed, and the process CPU time
 * per run (which, unlike wall time, other load on the machine hardly changes). In-process and single-threaded, so
 * the numbers are CPU cost per operation, not throughput. `--runs 2` doubles every count.
 *
 * Sign includes validating the document (nothing invalid is ever signed); verify includes
 * the size cap, signature, claims, schema validation and the digest: the whole of what an
 * ambassador or the control does once per config version.
 * @module
 */
import { readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { checkMeshConfig, createTrustSet, generateSigningKey, importSigningKey, parseConfigText, signConfig, verifyConfig, type SigningAlg } from '../protocol/index.ts'

const scale = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 1) || 1
const exampleText = readFileSync(new URL('../examples/mesh.yaml', import.meta.url), 'utf8')
const example = parseConfigText(exampleText) as { mesh: string; services: unknown[]; routes: unknown[] }

/** The example plus `extra` services, each routed by its own host with a header match: a realistic shape. */
function configOfSize(targetBytes: number) {
  const doc = structuredClone(example)
  for (let i = 0; JSON.stringify(doc).length < targetBytes; i++) {
    const name = `svc-${i}`
    doc.services.push({ name, endpoints: [`http://10.${(i >> 8) & 255}.${i & 255}.1:8080`, { url: `http://10.${(i >> 8) & 255}.${i & 255}.2:8080`, weight: 2 }] })
    doc.routes.push({
      name,
      hostnames: [name, `${name}.${doc.mesh}`],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-tenant', value: 'a' }] }], backendRefs: [{ name }], timeouts: { request: '5s' } }],
    })
  }
  return doc
}

interface Stats {
  runs: number
  /** The fastest run: the cost with no interference, a floor when the machine is busy. */
  minMs: number
  /** Process CPU time (all threads: GC, the crypto thread pool) per run: steady under load, where wall times are not. */
  cpuMs: number
  medianMs: number
  p90Ms: number
}

async function measure(runs: number, fn: () => unknown): Promise<Stats> {
  const n = Math.max(5, Math.round(runs * scale))
  for (let i = 0; i < Math.min(50, n); i++) await fn() // warm-up: JIT, key import caches
  const times: number[] = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await fn()
    times.push(performance.now() - t)
  }
  const cpu = process.cpuUsage(cpu0)
  times.sort((a, b) => a - b)
  const at = (p: number) => times[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)]!
  return { runs: n, minMs: times[0]!, cpuMs: (cpu.user + cpu.system) / 1000 / n, medianMs: at(50), p90Ms: at(90) }
}

const rows: Array<{ case: string } & Stats> = []
const report = (name: string, s: Stats) => {
  rows.push({ case: name, ...s })
  const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`)
  console.log(`${name.padEnd(46)} median ${fmt(s.medianMs).padStart(9)}   p90 ${fmt(s.p90Ms).padStart(9)}   min ${fmt(s.minMs).padStart(9)}   cpu ${fmt(s.cpuMs).padStart(9)}   (${s.runs} runs)`)
}

// Other work on the machine inflates medians and p90s alike: the load is printed so a reader can judge.
console.log(`node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${loadavg()[0]!.toFixed(2)}\n`)

report('parse examples/mesh.yaml (YAML → object)', await measure(2000, () => parseConfigText(exampleText)))
report('schema-validate examples/mesh.yaml', await measure(5000, () => checkMeshConfig(example)))

const sizes = [
  { label: '10 KB', doc: configOfSize(10 * 1024), runs: 2000 },
  { label: '1 MB', doc: configOfSize(1024 * 1024), runs: 100 },
]
for (const { label, doc } of sizes) console.log(`${label} config: ${JSON.stringify(doc).length} bytes of JSON, ${doc.services.length} services, ${doc.routes.length} routes`)
console.log()

for (const { label, doc, runs } of sizes) {
  report(`schema-validate ${label} config`, await measure(runs, () => checkMeshConfig(doc)))
  for (const alg of ['EdDSA', 'ES256'] as SigningAlg[]) {
    const { privateJwk, publicJwk } = await generateSigningKey(`bench-${alg}`, alg)
    const key = await importSigningKey(privateJwk)
    const trust = await createTrustSet({ keys: [publicJwk] })
    const jws = await signConfig(doc, key)
    // A 1 MB document is a 1.33 MB JWS (base64url): over the default cap, as it should be.
    const maxBytes = 4 * 1024 * 1024
    report(`sign ${label} ${alg}`, await measure(runs, () => signConfig(doc, key)))
    report(`verify ${label} ${alg} (JWS ${(jws.length / 1024).toFixed(0)} KiB)`, await measure(runs, () => verifyConfig(jws, { trust, maxBytes })))
  }
}

if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2))
