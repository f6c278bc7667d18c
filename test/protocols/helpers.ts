/**
 * Fixtures for the protocol acceptance tests: a free port, a signed config file and an
 * ambassador on it, metric lookups. Everything returned has a close(); tests call it.
 * @module
 */
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { createSigner, startAmbassador, tempDir, until } from '../worker/helpers.ts'
import type { NodeAmbassadorOptions, RunningAmbassador } from '../../worker/entry/node.ts'

/** A port free right now on 127.0.0.1 (for configs that must name a listener before it starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

/** Signs `config` (version 1), writes it to a temp file, starts an ambassador on it and waits until it is ready. */
export async function ambassadorWith(config: object, options: Partial<NodeAmbassadorOptions> = {}): Promise<RunningAmbassador> {
  const signer = await createSigner()
  const file = join(tempDir(), 'config.jws')
  writeFileSync(file, await signer.sign(config, 1))
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file, ...options })
  await until(() => amb.ambassador.holder.current !== undefined)
  return amb
}

/** The value of one series in Prometheus text, or undefined. */
export function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && line.split(' ')[0] !== name) continue
    const inside = line.slice(line.indexOf('{') + 1, line.indexOf('}'))
    const parts = inside ? inside.split(',') : []
    if (want.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

export const scrape = async (amb: RunningAmbassador) => (await fetch(`http://127.0.0.1:${amb.ports.admin}/metrics`)).text()

/** Awaits `p`, failing with `what` after `ms` instead of hanging the test. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))),
  ])
}
