#!/usr/bin/env node
// Node 20 cannot strip TypeScript types, so the CLI registers tsx's loader and runs the
// sources as they are: no build step, nothing to go stale after `npm ci`. Bun and Deno run
// TypeScript themselves (and Deno has no module.register), so they skip it.
//
// Optional: after `npm run build`, Node runs the esbuild bundle dist/legate.js instead (it
// starts faster and holds less memory than tsx, see docs/ambassador.md), as long as no
// source file it was built from is newer; LEGATE_NO_DIST=1 forces the sources.
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

if (!globalThis.Bun && !globalThis.Deno && freshBundle()) {
  await import(dist.href)
} else {
  if (!globalThis.Bun && !globalThis.Deno) {
    const { register } = await import('tsx/esm/api')
    register()
  }
  await import('../cli/main.ts')
}
