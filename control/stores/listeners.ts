/**
 * Per-mesh listener sets with a hook for the first and last listener of a mesh, so a store
 * holds one upstream subscription per mesh (a Redis channel, a file watcher) however many
 * long-polls wait on it.
 * @module
 */
import type { ChangeListener } from '../store.ts'

export interface Listeners {
  /** Adds a listener; `onFirst` runs (and is awaited) when the mesh had none. */
  add(mesh: string, listener: ChangeListener): Promise<() => void>
  emit(mesh: string, version: number): void
  count(mesh?: string): number
  /** Meshes with at least one listener. */
  meshes(): string[]
  clear(): void
}

export interface ListenersOptions {
  onFirst?: (mesh: string) => Promise<void> | void
  onLast?: (mesh: string) => void
}

export function createListeners(options: ListenersOptions = {}): Listeners {
  const byMesh = new Map<string, Set<ChangeListener>>()
  const starting = new Map<string, Promise<void>>()

  return {
    async add(mesh, listener) {
      let set = byMesh.get(mesh)
      if (!set) {
        set = new Set()
        byMesh.set(mesh, set)
        if (options.onFirst) {
          const start = Promise.resolve(options.onFirst(mesh))
          starting.set(mesh, start)
          start.finally(() => starting.delete(mesh)).catch(() => {})
        }
      }
      set.add(listener)
      const pending = starting.get(mesh)
      if (pending) {
        try {
          await pending
        } catch (err) {
          remove()
          throw err
        }
      }
      let removed = false
      function remove() {
        if (removed) return
        removed = true
        const current = byMesh.get(mesh)
        if (!current) return
        current.delete(listener)
        if (current.size === 0) {
          byMesh.delete(mesh)
          options.onLast?.(mesh)
        }
      }
      return remove
    },
    emit(mesh, version) {
      const set = byMesh.get(mesh)
      if (!set) return
      // A listener may unsubscribe while we iterate; iterate over a copy.
      for (const listener of [...set]) {
        try {
          listener(version)
        } catch {
          // One failing waiter must not keep the others asleep.
        }
      }
    },
    count(mesh) {
      if (mesh !== undefined) return byMesh.get(mesh)?.size ?? 0
      let n = 0
      for (const set of byMesh.values()) n += set.size
      return n
    },
    meshes: () => [...byMesh.keys()],
    clear() {
      for (const mesh of [...byMesh.keys()]) options.onLast?.(mesh)
      byMesh.clear()
    },
  }
}
