#!/usr/bin/env node
// Node 20 cannot strip TypeScript types, so the CLI registers tsx's loader and runs the
// sources as they are: no build step, nothing to go stale after `npm ci`. Bun and Deno run
// TypeScript themselves (and Deno has no module.register), so they skip it.
if (!globalThis.Bun && !globalThis.Deno) {
  const { register } = await import('tsx/esm/api')
  register()
}
await import('../cli/main.ts')
