#!/usr/bin/env node
// `npm run build`, also run by `npm ci` as `prepare`: bundles the CLI (and the ambassador it starts) with esbuild into dist/legate.js,
// which bin/legate.js then runs with plain node instead of loading tsx and compiling the
// sources at every start (faster start, less memory; figures in docs/ambassador.md).
// Dependencies stay in node_modules (--packages=external). dist/legate.inputs.json lists the
// project files bundled: bin/legate.js falls back to the sources when one is newer.
import { build } from 'esbuild'
import { writeFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(new URL('..', import.meta.url).pathname)
const outdir = join(root, 'dist')
mkdirSync(outdir, { recursive: true })
const result = await build({
  entryPoints: [join(root, 'cli/main.ts')],
  outfile: join(outdir, 'legate.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
})
const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules/'))
writeFileSync(join(outdir, 'legate.inputs.json'), JSON.stringify(inputs.map((p) => resolve(root, p))))
console.log(`dist/legate.js: ${inputs.length} source files bundled`)
