/**
 * Authorization policies compiled into per-service matchers (Istio AuthorizationPolicy
 * semantics, CONTRACT §1). Any matching DENY denies; then, if any ALLOW policy targets the
 * service, the request must match one of them; otherwise it is allowed. Within a rule,
 * `from`, `to` and `when` must all match; within `from` or `to`, any one entry.
 * An ALLOW policy without rules allows nothing; `rules: [{}]` allows everything.
 *
 * Compiled once per config version; the per-service policy lists are built on first use
 * and kept with the compiled table, so a config swap drops them all at once.
 * @module
 */
import { cidrContains, parseCidr, type Cidr, type IpAddress } from '../../protocol/cidr.ts'
import type { AuthorizationPolicy } from '../../protocol/schema.ts'
import { compileStringPatterns, type StringPredicate } from './string-pattern.ts'
import { normalizePath } from './normalize-path.ts'

/** What a policy looks at. */
export interface AuthorizationRequest {
  method: string
  /** The request path without the query (normalized here). */
  path: string
  headers: Headers
  /** The verified source service, or undefined when the caller is unauthenticated. */
  source: string | undefined
  /** The client address, or undefined when the runtime cannot tell. */
  ip: IpAddress | undefined
}

export interface AuthorizationDecision {
  allowed: boolean
  /** The policy that decided: the matching DENY or ALLOW; undefined when no policy matched. */
  policy: string | undefined
  /** Why, in words, for the local reply and logs. */
  reason: string
}

export interface AuthorizationTable {
  decide(service: string, req: AuthorizationRequest): AuthorizationDecision
  /** How many policies were compiled. */
  readonly size: number
}

type Matcher = (req: AuthorizationRequest, path: string) => boolean

interface CompiledPolicy {
  name: string
  action: 'ALLOW' | 'DENY'
  targets: ReadonlySet<string> | undefined
  matches: Matcher
}

interface ServicePolicies {
  deny: CompiledPolicy[]
  allow: CompiledPolicy[]
}

const ALLOWED_BY_DEFAULT: AuthorizationDecision = Object.freeze({ allowed: true, policy: undefined, reason: 'no ALLOW policy targets this service' })

export function compileAuthorization(policies: readonly AuthorizationPolicy[]): AuthorizationTable {
  const compiled = policies.map(compilePolicy)
  const perService = new Map<string, ServicePolicies>()

  function forService(service: string): ServicePolicies {
    let entry = perService.get(service)
    if (!entry) {
      const applies = compiled.filter((p) => p.targets === undefined || p.targets.has(service))
      entry = { deny: applies.filter((p) => p.action === 'DENY'), allow: applies.filter((p) => p.action === 'ALLOW') }
      // Services come from the config (the inbound service or a routed backend), so the map
      // is bounded by the mesh; a cap guards against a caller passing arbitrary names.
      if (perService.size < 100_000) perService.set(service, entry)
    }
    return entry
  }

  return {
    size: compiled.length,
    decide(service, req) {
      const { deny, allow } = forService(service)
      if (deny.length === 0 && allow.length === 0) return ALLOWED_BY_DEFAULT
      const path = normalizePath(req.path)
      for (const p of deny) if (p.matches(req, path)) return { allowed: false, policy: p.name, reason: `denied by policy "${p.name}"` }
      if (allow.length === 0) return ALLOWED_BY_DEFAULT
      for (const p of allow) if (p.matches(req, path)) return { allowed: true, policy: p.name, reason: `allowed by policy "${p.name}"` }
      return { allowed: false, policy: undefined, reason: `no ALLOW policy for service "${service}" matches the request` }
    },
  }
}

function compilePolicy(p: AuthorizationPolicy): CompiledPolicy {
  const rules = p.rules.map(compileRule)
  return {
    name: p.name,
    action: p.action,
    targets: p.targets === undefined ? undefined : new Set(p.targets),
    matches: rules.length === 0 ? () => false : rules.length === 1 ? rules[0]! : (req, path) => rules.some((r) => r(req, path)),
  }
}

type Rule = AuthorizationPolicy['rules'][number]

function compileRule(rule: Rule): Matcher {
  const parts: Matcher[] = []
  if (rule.from && rule.from.length > 0) parts.push(any(rule.from.map(compileSource)))
  if (rule.to && rule.to.length > 0) parts.push(any(rule.to.map(compileOperation)))
  for (const w of rule.when ?? []) parts.push(compileCondition(w))
  return all(parts)
}

function compileSource(from: NonNullable<Rule['from']>[number]): Matcher {
  const parts: Matcher[] = []
  if (from.services) {
    // "*" is any authenticated caller; an unauthenticated one has no name to match.
    const anyAuthenticated = from.services.includes('*')
    const names = new Set(from.services)
    parts.push(anyAuthenticated ? (req) => req.source !== undefined : (req) => req.source !== undefined && names.has(req.source))
  }
  if (from.notServices) {
    const names = new Set(from.notServices)
    parts.push((req) => req.source === undefined || !names.has(req.source))
  }
  if (from.ipBlocks) {
    const blocks = from.ipBlocks.map(cidrOf)
    parts.push((req) => req.ip !== undefined && blocks.some((b) => cidrContains(b, req.ip!)))
  }
  if (from.notIpBlocks) {
    const blocks = from.notIpBlocks.map(cidrOf)
    // An unknown address is in no block, so it passes a notIpBlocks test.
    parts.push((req) => req.ip === undefined || !blocks.some((b) => cidrContains(b, req.ip!)))
  }
  return all(parts)
}

function compileOperation(to: NonNullable<Rule['to']>[number]): Matcher {
  const parts: Matcher[] = []
  if (to.methods) {
    const m = compileStringPatterns(to.methods.map((x) => x.toUpperCase()))
    parts.push((req) => m(req.method.toUpperCase()))
  }
  if (to.notMethods) {
    const m = compileStringPatterns(to.notMethods.map((x) => x.toUpperCase()))
    parts.push((req) => !m(req.method.toUpperCase()))
  }
  if (to.paths) {
    const m = compileStringPatterns(to.paths)
    parts.push((_, path) => m(path))
  }
  if (to.notPaths) {
    const m = compileStringPatterns(to.notPaths)
    parts.push((_, path) => !m(path))
  }
  return all(parts)
}

function compileCondition(w: NonNullable<Rule['when']>[number]): Matcher {
  const name = w.header.toLowerCase()
  const values: StringPredicate | undefined = w.values ? compileStringPatterns(w.values) : undefined
  const notValues: StringPredicate | undefined = w.notValues ? compileStringPatterns(w.notValues) : undefined
  return (req) => {
    const v = req.headers.get(name)
    // An absent header has no value to be among `values`, and none to be among `notValues`.
    if (v === null) return values === undefined
    if (values && !values(v)) return false
    if (notValues && notValues(v)) return false
    return true
  }
}

function cidrOf(text: string): Cidr {
  const c = parseCidr(text)
  if (!c) throw new TypeError(`"${text}" is not a CIDR block (the schema should have refused it)`)
  return c
}

function all(parts: Matcher[]): Matcher {
  if (parts.length === 0) return () => true
  if (parts.length === 1) return parts[0]!
  return (req, path) => {
    for (const p of parts) if (!p(req, path)) return false
    return true
  }
}

function any(parts: Matcher[]): Matcher {
  if (parts.length === 1) return parts[0]!
  return (req, path) => {
    for (const p of parts) if (p(req, path)) return true
    return false
  }
}
