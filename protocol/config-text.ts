/**
 * Reads a config document from text. YAML is a superset of JSON, so one parser takes both;
 * the `yaml` package is pure JavaScript and runs on every runtime legate supports.
 * @module
 */
import { parseDocument } from 'yaml'
import { LegateError } from './errors.ts'

/** Parses YAML or JSON text into a plain value; throws `malformed` with line and column. */
export function parseConfigText(text: string, source = 'config'): unknown {
  // Aliases are refused outright: a "billion laughs" document would expand without bound.
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true })
  const problem = doc.errors[0]
  if (problem) {
    const where = problem.linePos?.[0] ? ` at line ${problem.linePos[0].line}, column ${problem.linePos[0].col}` : ''
    throw new LegateError('malformed', `${source} is not valid YAML or JSON${where}: ${problem.message.split('\n')[0]}`)
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 0 })
  } catch (err) {
    throw new LegateError('malformed', `${source}: ${(err as Error).message}`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LegateError('malformed', `${source} must be a mapping (an object) at the top level`)
  }
  return value
}
