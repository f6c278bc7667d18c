/**
 * Lets the Node test runner drive a store that lives in another runtime (workerd, Deno):
 * `storeRpc(store)` is a fetch handler run there, `remoteStore(url)` a `ConfigStore` here.
 * Subscriptions are a streamed response, one line per version, after a `ready` line.
 * Web standards only, so the same file runs in all three runtimes.
 * @module
 */
import type { ConfigStore } from '../../control/store.ts'

type Method = 'putIfNewer' | 'current' | 'listVersions' | 'getVersion'
const encoder = new TextEncoder()

export function storeRpc(store: ConfigStore): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url)
    if (url.pathname === '/rpc') {
      const { method, args } = (await request.json()) as { method: Method; args: unknown[] }
      try {
        const fn = store[method] as (...a: unknown[]) => Promise<unknown>
        const result = await fn.apply(store, args)
        return Response.json({ result: result === undefined ? null : result })
      } catch (err) {
        return Response.json({ error: String((err as Error)?.message ?? err) }, { status: 500 })
      }
    }
    if (url.pathname === '/subscribe') {
      const mesh = url.searchParams.get('mesh') ?? ''
      let unsubscribe: (() => void) | undefined
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          unsubscribe = await store.subscribe(mesh, (v) => controller.enqueue(encoder.encode(`${v}\n`)))
          controller.enqueue(encoder.encode('ready\n'))
        },
        cancel() {
          unsubscribe?.()
        },
      })
      // Not text/*: the edge may compress and so buffer a text body, holding back the lines.
      return new Response(stream, { headers: { 'content-type': 'application/octet-stream' } })
    }
    return new Response('not found', { status: 404 })
  }
}

export function remoteStore(base: string, name: string): ConfigStore {
  const call = async (method: Method, ...args: unknown[]) => {
    const res = await fetch(`${base}/rpc`, { method: 'POST', body: JSON.stringify({ method, args }) })
    const body = (await res.json()) as { result?: unknown; error?: string }
    if (body.error !== undefined) throw new Error(`${name}: ${body.error}`)
    return body.result
  }
  const open = new Set<() => void>()
  return {
    name,
    putIfNewer: (...a) => call('putIfNewer', ...a) as never,
    current: async (mesh) => ((await call('current', mesh)) ?? undefined) as never,
    listVersions: (mesh) => call('listVersions', mesh) as never,
    getVersion: async (mesh, ver) => ((await call('getVersion', mesh, ver)) ?? undefined) as never,
    async subscribe(mesh, listener) {
      const controller = new AbortController()
      const res = await fetch(`${base}/subscribe?mesh=${encodeURIComponent(mesh)}`, { signal: controller.signal })
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      let resolveReady!: () => void
      const ready = new Promise<void>((r) => (resolveReady = r))
      ;(async () => {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return
          buffered += value
          let newline: number
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline)
            buffered = buffered.slice(newline + 1)
            if (line === 'ready') resolveReady()
            else listener(Number(line))
          }
        }
      })().catch(() => {})
      await ready
      const unsubscribe = () => {
        if (!open.delete(unsubscribe)) return
        controller.abort()
      }
      open.add(unsubscribe)
      return unsubscribe
    },
    async close() {
      for (const u of [...open]) u()
    },
  }
}
