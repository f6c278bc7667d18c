#!/usr/bin/env node
// On Node the ambassador wants `node --no-memory-reducer` (worker/platforms/node/heap-tuning.ts;
// it warns without it). Not in this shebang: `#!/usr/bin/env -S node …` needs an env with -S,
// and BusyBox's (Alpine images) has none, so the CLI would not start there at all.
// On Node: `npm ci` runs `prepare` (npm run build), and Node runs the esbuild bundle
// dist/legate.js (it starts faster and holds about 40 MB less than the sources, see
// docs/ambassador.md) as long as no source file it was built from is newer. Otherwise (after
// an edit, or an install with --ignore-scripts) Node 20, which cannot strip TypeScript types,
// runs the sources through tsx's loader; LEGATE_NO_DIST=1 forces that. Deno runs the sources
// (TypeScript is its own, and it has no module.register).
//
// Bun runs a `bun build` bundle of the CLI (dependencies included, split at its dynamic
// imports), which it makes itself, in a child process, the first time it starts after a
// source or dependency changed: dist/bun/<build>/, named by dist/bun/current.json. Loaded as
// ~500 separate modules (zod alone is ~100 files) the same code holds ~6 MB more on Bun
// (docs/runtimes.md, "Bun's memory"). If the bundle cannot be made (read-only install, …)
// Bun runs the sources; LEGATE_NO_DIST=1 forces them.
import { existsSync, readFileSync, statSync } from 'node:fs'

const dist = new URL('../dist/legate.js', import.meta.url)

function freshBundle() {
  if (process.env.LEGATE_NO_DIST === '1' || !existsSync(dist)) return false
  try {
    const built = statSync(dist).mtimeMs
    const inputs = JSON.parse(readFileSync(new URL('../dist/legate.inputs.json', import.meta.url), 'utf8'))
    return inputs.every((file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs <= built)
  } catch {
    return false
  }
}

/** The Bun bundle's entry (file URL), made now if missing or stale; undefined: run the sources. */
async function bunBundle() {
  if (process.env.LEGATE_NO_DIST === '1') return undefined
  const { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } = await import('node:fs')
  const { resolve } = await import('node:path')
  const root = new URL('..', import.meta.url).pathname
  const base = `${root}dist/bun`
  const currentFile = `${base}/current.json`
  const entry = (name) => new URL(`file://${base}/${name}/main.js`).href
  try {
    const current = JSON.parse(readFileSync(currentFile, 'utf8'))
    if (existsSync(`${base}/${current.dir}/main.js`) && current.inputs.every((file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs <= current.built)) return entry(current.dir)
  } catch {}
  // Each build has its own directory, so a process that started from an older one still
  // finds that one's chunks; current.json is replaced atomically.
  const name = `b${Date.now().toString(36)}-${process.pid}`
  const out = `${base}/${name}`
  try {
    mkdirSync(base, { recursive: true })
    const built = Date.now()
    const child = globalThis.Bun.spawn([process.execPath, 'build', `${root}cli/main.ts`, '--target=bun', '--splitting', `--outdir=${out}`, `--metafile=${out}.meta.json`], { cwd: root, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore' })
    // Bounded: a build that hangs (or a very busy machine) falls back to the sources.
    let timer
    const code = await Promise.race([child.exited, new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000)))])
    clearTimeout(timer)
    if (code !== 0) {
      child.kill()
      throw new Error(`bun build: ${code}`)
    }
    const inputs = Object.keys(JSON.parse(readFileSync(`${out}.meta.json`, 'utf8')).inputs).map((p) => resolve(root, p))
    // npm gives installed files a fixed old mtime; its lock file in node_modules changes at every install.
    for (const lock of ['package.json', 'package-lock.json', 'node_modules/.package-lock.json']) if (existsSync(`${root}${lock}`)) inputs.push(`${root}${lock}`)
    rmSync(`${out}.meta.json`, { force: true })
    writeFileSync(`${out}.json`, JSON.stringify({ dir: name, built, inputs }))
    renameSync(`${out}.json`, currentFile)
    // Older builds: gone once no process can still be starting from them.
    for (const old of readdirSync(base)) {
      if (old === name || old === 'current.json') continue
      const st = statSync(`${base}/${old}`, { throwIfNoEntry: false })
      if (st && built - st.mtimeMs > 10 * 60_000) rmSync(`${base}/${old}`, { recursive: true, force: true })
    }
    return entry(name)
  } catch {
    rmSync(out, { recursive: true, force: true })
    rmSync(`${out}.meta.json`, { force: true })
    rmSync(`${out}.json`, { force: true })
    return undefined
  }
}

if (globalThis.Bun) {
  await import((await bunBundle()) ?? '../cli/main.ts')
} else if (!globalThis.Deno && freshBundle()) {
  await import(dist.href)
} else {
  if (!globalThis.Deno) {
    const { register } = await import('tsx/esm/api')
    register()
  }
  await import('../cli/main.ts')
}
