/**
 * V8 settings for the ambassador's process.
 *
 * Pretenuring, set at start. V8 may start allocating objects from a given allocation site
 * directly in the old generation ("pretenuring") when many of them survived a
 * young-generation collection, which is right for long-lived data. At start the ambassador
 * allocates a lot that does survive (config parse and compile), and per-request objects of
 * the shared sites then went to the old generation too: about 1 KB per request promoted at
 * 4,000 req/s (the heap grew 0.6 MB per scavenge), a mark-compact every ~2 s with 2-7 ms
 * pauses, 2-3 ms scavenges, and 28 MB more RSS. Without pretenuring the heap stays flat
 * between scavenges (~1 ms each) and no mark-compact runs under steady load
 * (docs/ambassador.md, "Performance"). V8 reads the flag at each collection, so setting it at
 * start takes effect.
 *
 * The memory reducer, off on the command line. When a process goes quiet, V8's memory
 * reducer runs a few memory-reducing mark-compacts, and those drop compiled code: the next
 * burst of traffic runs in the interpreter while a few hundred functions (node:http, undici,
 * the chain) are optimized again, and on a core shared with the upstream that showed as
 * 5-35 ms stalls. At 1,000 req/s after 50 s idle: p99 5.6-13 ms and ~200-700 recompilations
 * in the burst's first seconds with the reducer, 0.7 ms and none without (bench/analysis.md,
 * "Latency"). A sidecar's traffic is bursty by nature, and what the reducer would give back is
 * the heap of the last busy minute, so it stays off. V8 creates the reducer with the heap,
 * before any script runs (`setFlagsFromString` at start was tried: the reducing collections
 * still ran), so the flag has to be on node's command line: `node --no-memory-reducer
 * bin/legate.js ambassador …`, as the demo and the bench start it (docs/runtimes.md). Node
 * refuses it in NODE_OPTIONS, and a shebang cannot carry it portably (see bin/legate.js).
 * @module
 */
import { setFlagsFromString } from 'node:v8'

/** The node flags an ambassador process should start with (see above). */
export const AMBASSADOR_NODE_FLAGS: readonly string[] = ['--no-memory-reducer']

export function tuneHeapForProxying(): void {
  setFlagsFromString('--no-allocation-site-pretenuring')
}

/** The node flags of AMBASSADOR_NODE_FLAGS that this process was started without. */
export function missingNodeFlags(): string[] {
  return AMBASSADOR_NODE_FLAGS.filter((f) => !process.execArgv.includes(f))
}
