/** `legate validate CONFIG`: every schema issue with its path. @module */
import type { Command } from 'commander'
import { LegateError } from '../../protocol/errors.ts'
import { readText } from '../options.ts'

export function validate(program: Command) {
  program
    .command('validate')
    .description('check a mesh config (YAML or JSON) against the schema; prints every issue with its path')
    .argument('<config>', 'config file (YAML or JSON)')
    .action(async (path: string) => {
      const { checkMeshConfig, parseConfigText } = await import('../../protocol/index.ts')
      const doc = parseConfigText(await readText(path, 'config'), path)
      const issues = checkMeshConfig(doc)
      if (issues.length > 0) throw new LegateError('invalid_config', `${path} has ${issues.length} issue${issues.length > 1 ? 's' : ''}`, { issues })
      const d = doc as { mesh: string; services?: unknown[]; routes?: unknown[] }
      process.stdout.write(`ok: ${path} is a valid config for mesh "${d.mesh}" (${d.services?.length ?? 0} services, ${d.routes?.length ?? 0} routes)\n`)
    })
}
