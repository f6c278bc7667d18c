/**
 * Where an edge ambassador reads its signed config: the control's KV layout
 * (`meshes/<mesh>/current`, CONTRACT §4: the JWS itself, one get), or the control worker
 * over a service binding (or a URL) with `If-None-Match`. A source answers the JWS, or
 * undefined when there is nothing new. Integrity is never the source's job: the holder
 * verifies every config with the pinned trust.
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'

export interface KvLike {
  get(key: string): Promise<string | null>
}

export interface FetcherLike {
  fetch(input: string, init?: RequestInit): Promise<Response>
}

/** `current` ver, for a conditional request: undefined before the first config. */
export type EdgeConfigSource = { name: string; read(currentVer: number | undefined): Promise<string | undefined> }

export const kvSource = (kv: KvLike, mesh: string): EdgeConfigSource => ({
  name: 'kv',
  read: async () => (await kv.get(`meshes/${mesh}/current`)) ?? undefined,
})

/** The control API over a service binding (the host part of the URL is ignored) or a plain URL. */
export const controlSource = (control: FetcherLike | string, mesh: string): EdgeConfigSource => {
  const base = typeof control === 'string' ? control.replace(/\/+$/, '') : 'https://control'
  const doFetch = typeof control === 'string' ? (u: string, i?: RequestInit) => fetch(u, i) : (u: string, i?: RequestInit) => control.fetch(u, i)
  return {
    name: typeof control === 'string' ? 'control' : 'service binding',
    async read(currentVer) {
      const headers: Record<string, string> = { accept: 'application/jwt' }
      if (currentVer !== undefined) headers['if-none-match'] = `"${currentVer}"`
      const res = await doFetch(`${base}/v1/meshes/${encodeURIComponent(mesh)}/config`, { headers })
      if (res.status === 304 || res.status === 404) {
        await res.body?.cancel()
        if (res.status === 404) throw new LegateError('not_found', `the control has no config for mesh "${mesh}" yet`)
        return undefined
      }
      if (res.status !== 200) {
        await res.body?.cancel()
        throw new LegateError('unreachable', `the control answered ${res.status}`)
      }
      return (await res.text()).trim()
    },
  }
}
