/**
 * The `legate` command. Each subcommand lives in `commands/<name>.ts` and registers itself;
 * this file maps outcomes to exit codes: 0 done, 1 input refused, 2 bad usage (CONTRACT §3).
 * The commands import what only their action needs (zod, yaml, jose, ioredis, the control)
 * when it runs, so `legate ambassador` does not load (and keep in memory) the others' code.
 * @module
 */
import { Command, CommanderError } from 'commander'
import { isLegateError } from '../protocol/errors.ts'
import { UsageError } from './options.ts'
import { commands } from './commands/index.ts'

export function createProgram(): Command {
  const program = new Command('legate')
    .description('legate: a service-mesh ambassador with signed config')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) })
  for (const register of commands) register(program)
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError('(run with --help for usage)')
  return program
}

export async function run(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' })
    return process.exitCode === undefined ? 0 : Number(process.exitCode)
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? 0 : 2
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: usage: ${err.message}\n`)
      return 2
    }
    if (isLegateError(err)) {
      process.stderr.write(`error: ${err.code}: ${err.message}\n`)
      for (const issue of err.issues ?? []) process.stderr.write(`  ${issue.path}: ${issue.message}\n`)
      return 1
    }
    process.stderr.write(`error: internal: ${(err as Error)?.stack ?? String(err)}\n`)
    return 1
  }
}

// Long-running commands (control, ambassador) keep the process alive themselves.
const code = await run(process.argv.slice(2))
if (code !== 0) process.exit(code)
