/**
 * `--config-file`: a signed config on disk, applied at start and again whenever the file
 * changes. Polling stat (not inotify) so an editor's or `mv`'s atomic replace is seen too.
 * @module
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { LegateError } from '../../../protocol/errors.ts'
import { DEFAULT_MAX_CONFIG_BYTES } from '../../../protocol/envelope/claims.ts'
import type { ConfigHolder } from '../../config/holder.ts'
import type { ConfigSource } from '../../config/control-source.ts'

export interface FileSourceOptions {
  path: string
  holder: ConfigHolder
  maxBytes?: number
  /** Poll interval in ms (default 250). */
  interval?: number
}

export function createFileSource({ path, holder, maxBytes = DEFAULT_MAX_CONFIG_BYTES, interval = 250 }: FileSourceOptions): ConfigSource {
  let running = false
  const load = async () => {
    try {
      const size = (await stat(path)).size
      if (size > maxBytes + 2) throw new LegateError('too_large', `${path} is ${size} bytes, over the ${maxBytes}-byte limit`)
      const jws = (await readFile(path, 'utf8')).trim()
      holder.noteSourceOk()
      await holder.offer(jws, `file ${path}`)
    } catch (err) {
      if (err instanceof LegateError) holder.refuse(err, `file ${path}`)
      else holder.noteSourceError(new LegateError('io_error', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`))
    }
  }
  const onChange = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) void load()
  }
  return {
    start() {
      if (running) return
      running = true
      void load()
      watchFile(path, { interval, persistent: false }, onChange)
    },
    stop() {
      running = false
      unwatchFile(path, onChange)
    },
  }
}
