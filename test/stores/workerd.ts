/**
 * Bundles a worker with esbuild and runs it in workerd through miniflare, with the control's
 * KV and Durable Object bindings, on a real 127.0.0.1 port.
 * @module
 */
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'

export const COMPATIBILITY_DATE = '2026-04-20'

export interface Workerd {
  url: string
  mf: Miniflare
  stop(): Promise<void>
}

export async function startWorkerd(entry: string, bindings: Record<string, string> = {}): Promise<Workerd> {
  const bundle = await bundleWorker(entry)
  const mf = new Miniflare({
    modules: [{ type: 'ESModule', path: 'worker.js', contents: bundle }],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['enable_request_signal'],
    kvNamespaces: ['LEGATE_KV'],
    durableObjects: { CONTROL_MESH: 'ControlMesh' },
    kvPersist: false,
    durableObjectsPersist: false,
    bindings,
    host: '127.0.0.1',
    port: 0,
  })
  const url = (await mf.ready).toString().replace(/\/$/, '')
  return {
    url,
    mf,
    async stop() {
      await mf.dispose()
    },
  }
}

/** One ES module with everything the worker imports (hono, jose, zod included). */
export async function bundleWorker(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'neutral', target: 'es2022', mainFields: ['module', 'main'], conditions: ['workerd', 'worker', 'browser'], logLevel: 'silent' })
  return result.outputFiles[0]!.text
}
