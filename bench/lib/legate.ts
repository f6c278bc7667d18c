/**
 * Giving legate a config for the bench: an operator key (`legate keygen`), a mesh config whose
 * one service `echo` points at the fixed upstream (plus N generated routes for the scale
 * scenario), signed with `legate sign`.
 * @module
 */
import { spawnSync } from 'node:child_process'
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { start, stdoutTo, PROXY_CORE, type AbPeer } from './proc.ts'
import { AMBASSADOR_NODE_FLAGS } from '../../worker/platforms/node/heap-tuning.ts'

export const MESH = 'bench'
export const SERVICE = 'echo'
const ROOT = new URL('../../', import.meta.url).pathname

export interface LegateFiles {
  dir: string
  jwks: string
  privateKey: string
  configFile: string
  mesh: string
  service: string
  /** Host header that reaches the upstream through legate. */
  host: string
}

/** A mesh config document: service `echo` → upstream, and `routes` generated host routes. */
export function meshDocument(upstreamUrl: string, routes = 0, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    mesh: MESH,
    services: [{ name: SERVICE, endpoints: [upstreamUrl] }],
    ...extra,
  }
  if (routes > 0) doc.routes = generatedRoutes(routes)
  return doc
}

/**
 * N routes of the shapes a big mesh has: each its own hostname `h<i>`, one PathPrefix rule,
 * every 4th with a header match and a second rule, all to `echo`. The request for the scale
 * scenario goes to the last one (`Host: h<N-1>`).
 */
export function generatedRoutes(n: number) {
  const out = []
  for (let i = 0; i < n; i++) {
    const rules: unknown[] = []
    if (i % 4 === 0) rules.push({ matches: [{ path: { type: 'PathPrefix', value: `/v${i % 7}` }, headers: [{ name: 'x-canary', value: '1' }] }], backendRefs: [{ name: SERVICE }] })
    rules.push({ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: SERVICE }] })
    out.push({ name: `r${i}`, hostnames: [`h${i}`, `h${i}.${MESH}`], rules })
  }
  return out
}

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/legate.js'), ...args], { encoding: 'utf8', cwd: ROOT })
  if (r.status !== 0) throw new Error(`legate ${args[0]} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

/** Keygen (once per dir) and sign `doc` with the CLI; returns the files. */
export function prepareLegate(dir: string, upstreamUrl: string, doc = meshDocument(upstreamUrl), name = 'config'): LegateFiles {
  const prefix = join(dir, 'operator')
  if (!existsSync(`${prefix}.jwks.json`)) cli(['keygen', '--kid', 'bench-operator', '--out', prefix])
  const yaml = join(dir, `${name}.json`)
  writeFileSync(yaml, JSON.stringify(doc, null, 1))
  const configFile = join(dir, `${name}.jws`)
  cli(['sign', yaml, '--key', `${prefix}.private.jwk.json`, '--ttl', '1d', '-o', configFile])
  readFileSync(configFile, 'utf8')
  return { dir, jwks: `${prefix}.jwks.json`, privateKey: `${prefix}.private.jwk.json`, configFile, mesh: MESH, service: SERVICE, host: SERVICE }
}

/** Does `legate ambassador` exist yet? (The CLI lists it in --help.) */
export function ambassadorAvailable(): string | undefined {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/legate.js'), 'ambassador', '--help'], { encoding: 'utf8', cwd: ROOT })
  return r.status === 0 && r.stdout.includes('--config-file') ? undefined : '`legate ambassador` does not exist yet (bin/legate.js ambassador --help)'
}

/**
 * The legate builds of an A/B run on Node, from `--legate 'name=path/to/legate.js [node flags]'`
 * specs: each started with the ambassador's node flags (and its own), the access log at
 * `logLevel` to /dev/null, on ports from `basePort` (two per build: outbound, admin).
 */
export function nodeLegatePeers(specs: string[], files: LegateFiles, basePort: number, logLevel: string): AbPeer[] {
  return specs.map((spec, i) => {
    const eq = spec.indexOf('=')
    const name = eq > 0 ? spec.slice(0, eq) : `legate ${i + 1}`
    const [path, ...nodeFlags] = (eq > 0 ? spec.slice(eq + 1) : spec).split(' ').filter(Boolean)
    const entry = resolve(ROOT, path!)
    const port = basePort + 2 * i
    return {
      name,
      port,
      host: files.host,
      launch() {
        const args = [entry, 'ambassador', '--config-file', files.configFile, '--mesh', files.mesh, '--trust', files.jwks, '--outbound', String(port), '--admin', String(port + 1), '--log-level', logLevel]
        const q = stdoutTo(process.execPath, [...AMBASSADOR_NODE_FLAGS, ...nodeFlags, ...args])
        return start(name, q.cmd, q.args, { core: PROXY_CORE })
      },
    }
  })
}

/**
 * The bare Node forwarder, once per spec: '' for bench/forwarders/node-undici.ts with node's
 * defaults, or `[forwarder.ts] [node flags]` (e.g. `--max-semi-space-size=32`, or another
 * forwarder in bench/forwarders/), so a runtime setting or an upstream client can be priced
 * on the reference too, in the same run.
 */
export function bareNodePeers(specs: string[], upstreamUrl: string, basePort: number): AbPeer[] {
  return specs.map((spec, i) => {
    const words = spec.split(' ').filter(Boolean)
    const script = words[0]?.endsWith('.ts') ? words.shift()! : 'bench/forwarders/node-undici.ts'
    const port = basePort + i
    return {
      name: words.length || i > 0 ? `bare ${[script.replace(/^.*\//, ''), ...words].join(' ')}` : 'bare node:http + undici',
      port,
      launch() {
        return start(this.name, process.execPath, [...words, '--import', 'tsx', resolve(ROOT, script)], { core: PROXY_CORE, env: { PORT: String(port), UPSTREAM: upstreamUrl } })
      },
    }
  })
}
