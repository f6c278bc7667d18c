#!/usr/bin/env node
// Node 20 cannot strip TypeScript types, so the CLI registers tsx's loader and runs the
// sources as they are: no build step, nothing to go stale after `npm ci`.
import { register } from 'tsx/esm/api'
register()
await import('../cli/main.ts')
