/** The JSON Schema of the config document, generated from the zod schema. @module */
import * as z from 'zod/mini'
import { meshConfigSchema } from './schema.ts'

export function meshJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(meshConfigSchema, { io: 'input', target: 'draft-07', unrepresentable: 'any' }) as Record<string, unknown>
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://legate.dev/schema/mesh.schema.json',
    title: 'legate mesh config',
    ...schema,
  }
}
