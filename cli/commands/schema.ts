/** `legate schema`: the JSON Schema of the config document. @module */
import type { Command } from 'commander'

export function schema(program: Command) {
  program
    .command('schema')
    .description('print the JSON Schema of the mesh config document')
    .action(async () => {
      const { meshJsonSchema } = await import('../../protocol/json-schema.ts')
      process.stdout.write(JSON.stringify(meshJsonSchema(), null, 2) + '\n')
    })
}
