/** Every `legate` subcommand, in the order `--help` lists them. @module */
import type { Command } from 'commander'
import { keygen } from './keygen.ts'
import { validate } from './validate.ts'
import { schema } from './schema.ts'
import { sign } from './sign.ts'
import { verify } from './verify.ts'
import { publish } from './publish.ts'
import { control } from './control.ts'
import { ambassador } from './ambassador.ts'

export const commands: Array<(program: Command) => void> = [keygen, validate, schema, sign, verify, publish, control, ambassador]
