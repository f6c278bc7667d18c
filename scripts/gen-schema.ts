// Writes schema/mesh.schema.json from the zod schema; test/unit/protocol/json-schema.test.ts fails when it is stale.
import { writeFileSync } from 'node:fs'
import { meshJsonSchema } from '../protocol/json-schema.ts'

writeFileSync(new URL('../schema/mesh.schema.json', import.meta.url), JSON.stringify(meshJsonSchema(), null, 2) + '\n')
