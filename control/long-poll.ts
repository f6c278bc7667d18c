/**
 * Holds a `GET …/config?wait=N` until the mesh has a version newer than the one the client
 * holds, the wait runs out, or the client goes away. The subscription is made before the
 * first read, so a publish landing between the two still wakes the waiter; the timer and
 * the subscription are released on every way out.
 * @module
 */
import type { ConfigStore, CurrentConfig } from './store.ts'

export interface WaitOptions {
  store: ConfigStore
  mesh: string
  /** The version the client already has; undefined when it has none yet. */
  known: number | undefined
  waitMs: number
  signal: AbortSignal
}

const STALE_RETRY_MS = 10
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const isNewer = (current: CurrentConfig | undefined, known: number | undefined) =>
  current !== undefined && (known === undefined || current.version > known)

/** Resolves with the newer current config, or undefined when none came in time. */
export async function waitForNewer({ store, mesh, known, waitMs, signal }: WaitOptions): Promise<CurrentConfig | undefined> {
  let wake: () => void = () => {}
  const arm = () => new Promise<void>((resolve) => (wake = resolve))
  let pending = arm()
  let timedOut = false
  /** The highest version announced so far: a read older than it is stale, not the answer. */
  let announced = 0
  const unsubscribe = await store.subscribe(mesh, (version) => {
    announced = Math.max(announced, version)
    if (known === undefined || version > known) wake()
  })
  const onAbort = () => wake()
  signal.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => {
    timedOut = true
    wake()
  }, waitMs)
  try {
    let current = await store.current(mesh)
    // Bounded: each pass waits for a wake-up, and the timer (or the abort) ends the last one.
    while (!isNewer(current, known)) {
      if (signal.aborted || timedOut) return undefined
      // A store that announced a newer version than it just returned (a replica, an
      // eventually consistent read) is asked again shortly, not waited on.
      if (announced > (current?.version ?? 0)) await Promise.race([pending, sleep(STALE_RETRY_MS)])
      else await pending
      pending = arm()
      if (signal.aborted) return undefined
      current = await store.current(mesh)
    }
    return current
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
    unsubscribe()
  }
}
