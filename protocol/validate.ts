/**
 * Validates a config document against the schema and turns zod's issues into
 * `{path, message}` pairs with paths written the way operators read them.
 * @module
 */
import type * as z from 'zod/mini'
import { LegateError, type ConfigIssue } from './errors.ts'
import { meshConfigSchema, type MeshConfig } from './schema.ts'
import { withRouteReuse, type KnownRoutes, type RouteReuse } from './route-reuse.ts'

/** `['routes', 2, 'rules', 0]` → `routes[2].rules[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out === '' ? '(root)' : out
}

/**
 * The alternative of a union that got furthest: fewest issues, and among equals one that
 * matched the value's type (so `{url: "javascript:…"}` reports the bad scheme at `.url`,
 * not "expected string" from the string alternative).
 */
function bestAlternative(errors: z.core.$ZodIssue[][]): z.core.$ZodIssue[] {
  const score = (e: z.core.$ZodIssue[]) => e.length + (e[0]?.code === 'invalid_type' && e[0].path.length === 0 ? 0.5 : 0)
  return errors.reduce((a, b) => (score(a) <= score(b) ? a : b))
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Report the alternative that got furthest, not zod's generic "invalid input".
    const best = bestAlternative(issue.errors)
    if (best[0]) return describe(best[0])
  }
  return issue.message
}

function pathOf(issue: z.core.$ZodIssue): PropertyKey[] {
  const path = [...issue.path]
  if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) path.push(issue.keys[0]!)
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const best = bestAlternative(issue.errors)
    if (best[0]) path.push(...pathOf(best[0]))
  }
  return path
}

export function configIssues(error: z.core.$ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(pathOf(issue)), message: describe(issue) }))
}

/** Every issue of a document, or an empty list when it is valid. */
export function checkMeshConfig(input: unknown): ConfigIssue[] {
  const result = meshConfigSchema.safeParse(input)
  return result.success ? [] : configIssues(result.error)
}

/** Parses a config document; throws `invalid_config` listing every issue with its path. */
export function parseMeshConfig(input: unknown): MeshConfig {
  return parsed(meshConfigSchema.safeParse(input))
}

/** Each config parsed by `parseNextMeshConfig`: its routes as received and parsed, for the version after it. */
const rememberedRoutes = new WeakMap<MeshConfig, KnownRoutes>()

/**
 * `parseMeshConfig` for one of a sequence of versions (an ambassador's), given the config it
 * replaces (`null` for the first): a route equal to the previous version's route of the same
 * name is taken as parsed there (see route-reuse.ts). The document is kept, by reference,
 * until the next version is parsed: it must not change afterwards (verifyConfig's is its own).
 */
export function parseNextMeshConfig(input: unknown, previous: MeshConfig | null): MeshConfig {
  const reuse: RouteReuse = { previous: previous ? rememberedRoutes.get(previous) : undefined, next: { received: [], parsed: [] } }
  const config = parsed(withRouteReuse(reuse, () => meshConfigSchema.safeParse(input)))
  rememberedRoutes.set(config, reuse.next)
  return config
}

function parsed(result: z.util.SafeParseResult<MeshConfig>): MeshConfig {
  if (result.success) return result.data
  const issues = configIssues(result.error)
  const summary = issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`).join('; ')
  throw new LegateError('invalid_config', `${issues.length} issue${issues.length > 1 ? 's' : ''} in the config: ${summary}${issues.length > 3 ? '; …' : ''}`, { issues })
}
