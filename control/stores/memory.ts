/**
 * In-memory store: for tests and throwaway controls. Compare-and-set is trivially atomic
 * because a JavaScript turn cannot be interrupted.
 * @module
 */
import type { ConfigStore, CurrentConfig, VersionMeta } from '../store.ts'
import { createListeners } from './listeners.ts'

export const STORE_NAME = 'memory'

interface MeshState {
  current?: CurrentConfig
  versions: Map<number, { jws: string; meta: VersionMeta }>
}

export function memoryStore(): ConfigStore {
  const meshes = new Map<string, MeshState>()
  const listeners = createListeners()
  const state = (mesh: string) => {
    let s = meshes.get(mesh)
    if (!s) meshes.set(mesh, (s = { versions: new Map() }))
    return s
  }

  return {
    name: STORE_NAME,
    async putIfNewer(mesh, ver, jws, meta) {
      const s = state(mesh)
      if (s.current && s.current.version >= ver) return { ok: false, current: s.current.version }
      s.versions.set(ver, { jws, meta: { ...meta, version: ver } })
      s.current = { version: ver, digest: meta.digest, jws }
      listeners.emit(mesh, ver)
      return { ok: true }
    },
    async current(mesh) {
      return meshes.get(mesh)?.current
    },
    async listVersions(mesh) {
      const versions = meshes.get(mesh)?.versions
      if (!versions) return []
      return [...versions.values()].map((v) => v.meta).sort((a, b) => b.version - a.version)
    },
    async getVersion(mesh, ver) {
      return meshes.get(mesh)?.versions.get(ver)?.jws
    },
    subscribe: (mesh, listener) => listeners.add(mesh, listener),
    async close() {
      listeners.clear()
    },
  }
}
