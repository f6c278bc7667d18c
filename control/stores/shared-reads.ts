/**
 * Many long-polls wake at once on a publish and all read `current`: concurrent reads of one
 * mesh share a single backend read instead of each making their own. `forget` drops a read
 * in flight that may predate a change, so woken waiters start a fresh one.
 * @module
 */
export interface SharedReads<T> {
  read(mesh: string): Promise<T>
  forget(mesh: string): void
}

export function sharedReads<T>(read: (mesh: string) => Promise<T>): SharedReads<T> {
  const pending = new Map<string, Promise<T>>()
  return {
    read(mesh) {
      let shared = pending.get(mesh)
      if (!shared) {
        const started: Promise<T> = read(mesh).finally(() => {
          if (pending.get(mesh) === started) pending.delete(mesh)
        })
        pending.set(mesh, (shared = started))
      }
      return shared
    },
    forget: (mesh) => void pending.delete(mesh),
  }
}
