/**
 * The last-known-good config on Node: one file per mesh under `--state DIR`, replaced
 * atomically (write a temporary file, then rename) so a crash never leaves half a config.
 * @module
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { StateStore } from '../../platform.ts'

export function createFileStateStore(dir: string, mesh: string): StateStore {
  const path = join(dir, `${mesh}.last-known-good.jws`)
  return {
    async load() {
      try {
        return (await readFile(path, 'utf8')).trim() || undefined
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async save(jws) {
      await mkdir(dir, { recursive: true })
      const tmp = `${path}.${process.pid}.tmp`
      await writeFile(tmp, jws + '\n', { mode: 0o600 })
      await rename(tmp, path)
    },
  }
}
