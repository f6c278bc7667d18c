/** One helper for store failures, so every message names the adapter (unstorage's createError). @module */
import { LegateError } from '../../protocol/errors.ts'

export const storeError = (store: string, message: string, cause?: unknown): LegateError =>
  new LegateError('store_error', `[${store}] ${message}`, cause === undefined ? {} : { cause })
