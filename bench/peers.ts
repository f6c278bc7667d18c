/**
 * The peers, each one small descriptor: a name, what it needs, the port it listens on, and
 * how to start it (a command and its args; config files are written by `setup`). The harness
 * starts it pinned to the proxy core, measures the CPU and RSS of the process it started and
 * of that process's descendants (nginx workers, …), and stops it. Adding a peer is adding a
 * descriptor here.
 * @module
 */
import { mkdirSync, writeFileSync, existsSync, chmodSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { stdoutTo, which } from './lib/proc.ts'
import type { LegateFiles } from './lib/legate.ts'
import { AMBASSADOR_NODE_FLAGS } from '../worker/platforms/node/heap-tuning.ts'

const ROOT = new URL('../', import.meta.url).pathname
const BIN = (name: string) => join(ROOT, 'node_modules/.bin', name)
const NODE = process.execPath

export interface PeerContext {
  /** A private temporary directory for this run. */
  dir: string
  upstreamPort: number
  upstreamUrl: string
  /** Set once the legate config is prepared (undefined when legate cannot run). */
  legate?: LegateFiles
}

export interface Launch {
  cmd: string
  args: string[]
  env?: NodeJS.ProcessEnv
  /** Where to wait for readiness: a URL that must answer 200 (default: the port accepts). */
  readyUrl?: string
}

export interface Peer {
  name: string
  /** direct | bare (a runtime's bare forwarder) | proxy (a peer product) | legate */
  group: 'direct' | 'bare' | 'proxy' | 'legate'
  runtime?: 'node' | 'bun' | 'deno' | 'native'
  port: number
  /** The Host header requests carry (legate routes by it). */
  host?: string
  /** Why it cannot run here, or undefined. */
  missing(ctx: PeerContext): string | undefined
  /** The process to start; undefined for `direct` (nothing between load and upstream). */
  launch?(ctx: PeerContext): Launch
}

const needBin = (path: string, what: string) => (existsSync(path) || which(path) ? undefined : `${what} not found (${path})`)

export function nginxCommon(dir: string, name: string): { prefix: string; head: string } {
  const prefix = join(dir, name)
  for (const d of ['', 'body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(prefix, d), { recursive: true })
  chmodSync(dir, 0o755)
  chmodSync(prefix, 0o755)
  const head = `worker_processes 1;
daemon off;
master_process on;
user root;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 8192; multi_accept on; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 10000000; keepalive_timeout 120s;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  default_type application/octet-stream;
`
  return { prefix, head }
}

/** nginx as the fixed upstream: /100b returned from memory, /64k and /1m static files (sendfile), POST /upload read in full and answered with 100 B. */
export function nginxUpstreamConfig(dir: string, port: number): string {
  const { prefix, head } = nginxCommon(dir, 'nginx-upstream')
  const www = join(prefix, 'www')
  mkdirSync(www, { recursive: true })
  chmodSync(www, 0o755)
  writeFileSync(join(www, '64k'), Buffer.alloc(64 * 1024, 'b'))
  writeFileSync(join(www, '1m'), Buffer.alloc(1024 * 1024, 'c'))
  writeFileSync(join(www, 'upload'), Buffer.alloc(100, 'a'))
  writeFileSync(join(www, 'upload-ok'), Buffer.alloc(100, 'a'))
  const conf = `${head}
  open_file_cache max=100 inactive=60s;
  server {
    listen 127.0.0.1:${port} backlog=8192;
    root ${www};
    location = /100b { return 200 "${'a'.repeat(100)}"; }
    # The upload body is read in full before the answer (mirror_request_body), as a real
    # application would; then the static 100 B file answers (POST on a file is 405 → 200).
    location = /upload { client_max_body_size 4m; client_body_buffer_size 2m; mirror /sink; mirror_request_body on; error_page 405 =200 /upload-ok; }
    location = /sink { internal; return 204; }
    location = /__status { stub_status; }
    location = /upload-ok { internal; }
    location / { }
  }
}
`
  const path = join(prefix, 'nginx.conf')
  writeFileSync(path, conf)
  return path
}

export const PORT_BASE = 19100

/** Node flags of a legate peer: the ones the ambassador wants (docs/runtimes.md), and LEGATE_BENCH_NODE_FLAGS (a profiler's, say). */
const nodeFlags = () => [...AMBASSADOR_NODE_FLAGS, ...(process.env.LEGATE_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])]

export function peers(): Peer[] {
  let port = PORT_BASE + 1
  const next = () => port++
  const legateArgs = (ctx: PeerContext, p: number) => {
    const l = ctx.legate!
    return ['ambassador', '--config-file', l.configFile, '--mesh', l.mesh, '--trust', l.jwks, '--outbound', String(p), '--inbound', String(p + 100), '--admin', String(p + 200)]
  }
  const legateMissing = (ctx: PeerContext) => (ctx.legate ? undefined : 'legate config could not be prepared or `legate ambassador` does not exist yet')
  // As the goal says: with routing, metrics and the access log (at info, to /dev/null).
  const withAccessLog = (launch: Launch): Launch => ({ ...launch, ...stdoutTo(launch.cmd, launch.args), env: { ...launch.env, LEGATE_LOG_LEVEL: 'info' } })
  // `legate ambassador` on Node as shipped runs the esbuild bundle that `npm ci` builds
  // (prepare); bin/legate.js would fall back to the sources if one were newer, so build first.
  let built = false
  const buildBundle = () => {
    if (built) return
    const r = spawnSync(NODE, [join(ROOT, 'scripts/build.js')], { encoding: 'utf8', cwd: ROOT })
    if (r.status !== 0) throw new Error(`npm run build failed: ${r.stderr}`)
    built = true
  }
  const list: Peer[] = [
    { name: 'direct', group: 'direct', runtime: 'native', port: 0, missing: () => undefined },
    {
      name: 'node-undici',
      group: 'bare',
      runtime: 'node',
      port: next(),
      missing: () => undefined,
      launch(ctx) {
        return { cmd: NODE, args: ['--import', 'tsx', join(ROOT, 'bench/forwarders/node-undici.ts')], env: { PORT: String(this.port), UPSTREAM: ctx.upstreamUrl } }
      },
    },
    {
      name: 'bun-fetch',
      group: 'bare',
      runtime: 'bun',
      port: next(),
      missing: () => needBin(BIN('bun'), 'bun'),
      launch(ctx) {
        return { cmd: BIN('bun'), args: [join(ROOT, 'bench/forwarders/bun-fetch.ts')], env: { PORT: String(this.port), UPSTREAM: ctx.upstreamUrl } }
      },
    },
    {
      name: 'deno-fetch',
      group: 'bare',
      runtime: 'deno',
      port: next(),
      missing: () => needBin(BIN('deno'), 'deno'),
      launch(ctx) {
        return { cmd: BIN('deno'), args: ['run', '--no-config', '--allow-net', '--allow-env', join(ROOT, 'bench/forwarders/deno-fetch.ts')], env: { PORT: String(this.port), UPSTREAM: ctx.upstreamUrl, DENO_NO_UPDATE_CHECK: '1' } }
      },
    },
    {
      name: 'nginx',
      group: 'proxy',
      runtime: 'native',
      port: next(),
      missing: () => needBin('nginx', 'nginx (apt-get install nginx)'),
      launch(ctx) {
        const { prefix, head } = nginxCommon(ctx.dir, 'nginx-proxy')
        const conf = `${head}
  upstream up { server 127.0.0.1:${ctx.upstreamPort}; keepalive 128; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:${this.port} backlog=8192;
    client_max_body_size 4m;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffer_size 16k; proxy_buffers 16 64k; proxy_max_temp_file_size 0;
    }
  }
}
`
        writeFileSync(join(prefix, 'nginx.conf'), conf)
        return { cmd: which('nginx')!, args: ['-c', join(prefix, 'nginx.conf'), '-p', prefix] }
      },
    },
    {
      name: 'haproxy',
      group: 'proxy',
      runtime: 'native',
      port: next(),
      missing: () => needBin('haproxy', 'haproxy (apt-get install haproxy)'),
      launch(ctx) {
        const path = join(ctx.dir, 'haproxy.cfg')
        writeFileSync(
          path,
          `global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${this.port}
  default_backend be
backend be
  server up 127.0.0.1:${ctx.upstreamPort}
`,
        )
        return { cmd: which('haproxy')!, args: ['-f', path, '-db'] }
      },
    },
    {
      name: 'http-proxy',
      group: 'proxy',
      runtime: 'node',
      port: next(),
      missing: () => (existsSync(join(ROOT, 'node_modules/http-proxy')) ? undefined : 'node http-proxy not installed'),
      launch(ctx) {
        return { cmd: NODE, args: ['--import', 'tsx', join(ROOT, 'bench/forwarders/http-proxy.ts')], env: { PORT: String(this.port), UPSTREAM: ctx.upstreamUrl } }
      },
    },
    {
      name: 'legate-node',
      group: 'legate',
      runtime: 'node',
      port: next(),
      host: 'echo',
      missing: legateMissing,
      launch(ctx) {
        buildBundle()
        return withAccessLog({
          cmd: NODE,
          args: [...nodeFlags(), join(ROOT, 'bin/legate.js'), ...legateArgs(ctx, this.port)],
          readyUrl: `http://127.0.0.1:${this.port + 200}/readyz`,
        })
      },
    },
    {
      // Diagnostic: the same CLI from the sources through the tsx loader (what runs after an
      // edit until the next build, or after an install with --ignore-scripts).
      name: 'legate-node-tsx',
      group: 'legate',
      runtime: 'node',
      port: next(),
      host: 'echo',
      missing: legateMissing,
      launch(ctx) {
        return withAccessLog({
          cmd: NODE,
          args: [...nodeFlags(), join(ROOT, 'bin/legate.js'), ...legateArgs(ctx, this.port)],
          env: { LEGATE_NO_DIST: '1' },
          readyUrl: `http://127.0.0.1:${this.port + 200}/readyz`,
        })
      },
    },
    {
      name: 'legate-bun',
      group: 'legate',
      runtime: 'bun',
      port: next(),
      host: 'echo',
      missing: (ctx) => legateMissing(ctx) ?? needBin(BIN('bun'), 'bun'),
      launch(ctx) {
        // `legate ambassador` under Bun uses the Bun entry (Bun.serve, fetch upstream).
        return withAccessLog({ cmd: BIN('bun'), args: [join(ROOT, 'bin/legate.js'), ...legateArgs(ctx, this.port)], readyUrl: `http://127.0.0.1:${this.port + 200}/readyz` })
      },
    },
    {
      name: 'legate-deno',
      group: 'legate',
      runtime: 'deno',
      port: next(),
      host: 'echo',
      missing: (ctx) => legateMissing(ctx) ?? needBin(BIN('deno'), 'deno'),
      launch(ctx) {
        // `legate ambassador` under Deno uses the Deno entry (Deno.serve, fetch upstream).
        return withAccessLog({
          cmd: BIN('deno'),
          // V8's memory reducer drops compiled code after idle, as on Node (docs/runtimes.md).
          args: ['run', '-A', '--v8-flags=--no-memory-reducer', join(ROOT, 'cli/main.ts'), ...legateArgs(ctx, this.port)],
          env: { DENO_NO_UPDATE_CHECK: '1' },
          readyUrl: `http://127.0.0.1:${this.port + 200}/readyz`,
        })
      },
    },
  ]
  return list
}
