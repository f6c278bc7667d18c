/**
 * The `ConfigStore`: what the control worker needs from its storage (CONTRACT §4). Every
 * adapter in `stores/` implements it and passes `test/stores/suite.ts`.
 *
 * The one hard rule is compare-and-set: `putIfNewer` stores a version only when it is
 * strictly newer than the current one, atomically with respect to every other writer of
 * the same store (other requests, other processes, other isolates). Stored versions are
 * immutable, so a reader that learned a version number can always fetch its exact bytes.
 * @module
 */

/** What `GET /v1/meshes/{mesh}/versions` lists for each stored version. */
export interface VersionMeta {
  version: number
  /** `sha256:<hex>` of the JWS bytes. */
  digest: string
  iss: string
  iat: number
  exp: number
  /** ISO 8601 time the control stored it. */
  publishedAt: string
}

export interface CurrentConfig {
  version: number
  digest: string
  jws: string
}

export type PutResult = { ok: true } | { ok: false; current: number }

/** Called with the new current version after every successful publish on any writer. */
export type ChangeListener = (version: number) => void

export interface ConfigStore {
  /** Short adapter name for messages ("file", "redis", …). */
  readonly name: string
  /** Stores `jws` as `ver` and makes it current, unless the current version is ≥ `ver`. */
  putIfNewer(mesh: string, ver: number, jws: string, meta: VersionMeta): Promise<PutResult>
  current(mesh: string): Promise<CurrentConfig | undefined>
  /** Newest first. */
  listVersions(mesh: string): Promise<VersionMeta[]>
  getVersion(mesh: string, ver: number): Promise<string | undefined>
  /**
   * Registers a listener for publishes to `mesh`. The promise resolves once the
   * subscription is live (for Redis: the SUBSCRIBE is acknowledged), so a caller that
   * subscribes and then reads `current` cannot miss a publish in between. Returns the
   * unsubscribe function; calling it twice is harmless.
   */
  subscribe(mesh: string, listener: ChangeListener): Promise<() => void>
  /** Releases connections, watchers and timers. */
  close(): Promise<void>
}
