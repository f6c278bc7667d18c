/** `legate schema`: the JSON Schema of the config document. @module */
import type { Command } from 'commander'
import { meshJsonSchema } from '../../protocol/index.ts'

export function schema(program: Command) {
  program
    .command('schema')
    .description('print the JSON Schema of the mesh config document')
    .action(() => {
      process.stdout.write(JSON.stringify(meshJsonSchema(), null, 2) + '\n')
    })
}
