/**
 * One V8 setting for the ambassador's process. V8 may start allocating objects from a given
 * allocation site directly in the old generation ("pretenuring") when many of them survived
 * a young-generation collection, which is right for long-lived data. At start the ambassador
 * allocates a lot that does survive (config parse and compile), and per-request objects of
 * the shared sites then went to the old generation too: about 1 KB per request promoted at
 * 4,000 req/s (the heap grew 0.6 MB per scavenge), a mark-compact every ~2 s with 2-7 ms
 * pauses, 2-3 ms scavenges, and 28 MB more RSS. Without pretenuring the heap stays flat
 * between scavenges (~1 ms each) and no mark-compact runs under steady load
 * (docs/ambassador.md, "Performance"). V8 reads the flag at each collection, so setting it at
 * start takes effect.
 * @module
 */
import { setFlagsFromString } from 'node:v8'

export function tuneHeapForProxying(): void {
  setFlagsFromString('--no-allocation-site-pretenuring')
}
