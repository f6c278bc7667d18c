/**
 * The routing core: compile a config's routes once, then match requests against the table.
 * @module
 */
export { compileRoutes } from './compile.ts'
export { normalizeHost, splitHostPort } from './host.ts'
export type { CompiledRule, RouteMatchResult, RouteRequest, RouteTable, RedirectRequest, RedirectResult, RewriteRequest } from './types.ts'
