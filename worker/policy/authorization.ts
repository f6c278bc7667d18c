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
import type { HeaderReader } from '../platform.ts'

/** What a policy looks at. */
export interface AuthorizationRequest {
  method: string
  /** The request path without the query (normalized here). */
  path: string
  headers: HeaderReader
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

/** A request as the matchers see it: method upper-cased and path normalized once per decision. */
interface Prepared {
  method: string
  path: string
  headers: HeaderReader
  source: string | undefined
  ip: IpAddress | undefined
}

type Matcher = (req: Prepared) => boolean

interface CompiledPolicy {
  name: string
  action: 'ALLOW' | 'DENY'
  targets: ReadonlySet<string> | undefined
  /** The only methods the policy can match (undefined: any), so a request skips the others unevaluated. */
  methods: ReadonlySet<string> | undefined
  matches: Matcher
}

interface PolicyLists {
  deny: CompiledPolicy[]
  allow: CompiledPolicy[]
}

interface ServicePolicies extends PolicyLists {
  /** The lists narrowed to one method, built on first use (at most MAX_METHODS per service). */
  byMethod: Map<string, PolicyLists>
}

const MAX_METHODS = 32

const ALLOWED_BY_DEFAULT: AuthorizationDecision = Object.freeze({ allowed: true, policy: undefined, reason: 'no ALLOW policy targets this service' })

export function compileAuthorization(policies: readonly AuthorizationPolicy[]): AuthorizationTable {
  const compiled = policies.map(compilePolicy)
  const perService = new Map<string, ServicePolicies>()

  function forService(service: string): ServicePolicies {
    let entry = perService.get(service)
    if (!entry) {
      const applies = compiled.filter((p) => p.targets === undefined || p.targets.has(service))
      entry = { deny: applies.filter((p) => p.action === 'DENY'), allow: applies.filter((p) => p.action === 'ALLOW'), byMethod: new Map() }
      // Services come from the config (the inbound service or a routed backend), so the map
      // is bounded by the mesh; a cap guards against a caller passing arbitrary names.
      if (perService.size < 100_000) perService.set(service, entry)
    }
    return entry
  }

  return {
    size: compiled.length,
    decide(service, req) {
      const sp = forService(service)
      if (sp.deny.length === 0 && sp.allow.length === 0) return ALLOWED_BY_DEFAULT
      const method = req.method.toUpperCase()
      let lists = sp.byMethod.get(method)
      if (!lists) {
        const fits = (p: CompiledPolicy) => p.methods === undefined || p.methods.has(method)
        lists = { deny: sp.deny.filter(fits), allow: sp.allow.filter(fits) }
        if (sp.byMethod.size < MAX_METHODS) sp.byMethod.set(method, lists)
      }
      const r: Prepared = { method, path: normalizePath(req.path), headers: req.headers, source: req.source, ip: req.ip }
      for (const p of lists.deny) if (p.matches(r)) return { allowed: false, policy: p.name, reason: `denied by policy "${p.name}"` }
      // "Any ALLOW policy targets the service" counts every ALLOW policy, not only those for this method.
      if (sp.allow.length === 0) return ALLOWED_BY_DEFAULT
      for (const p of lists.allow) if (p.matches(r)) return { allowed: true, policy: p.name, reason: `allowed by policy "${p.name}"` }
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
    methods: methodsOf(p.rules),
    matches: rules.length === 0 ? () => false : rules.length === 1 ? rules[0]! : (req) => rules.some((r) => r(req)),
  }
}

/**
 * The methods a policy's rules can match: known only when every rule has a `to` whose every
 * entry lists exact `methods`. A policy without rules matches nothing (an empty set).
 */
function methodsOf(rules: readonly Rule[]): ReadonlySet<string> | undefined {
  const out = new Set<string>()
  for (const rule of rules) {
    if (!rule.to || rule.to.length === 0) return undefined
    for (const to of rule.to) {
      if (!to.methods || to.methods.some((m) => m.includes('*'))) return undefined
      for (const m of to.methods) out.add(m.toUpperCase())
    }
  }
  return out
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
    parts.push((req) => m(req.method))
  }
  if (to.notMethods) {
    const m = compileStringPatterns(to.notMethods.map((x) => x.toUpperCase()))
    parts.push((req) => !m(req.method))
  }
  if (to.paths) {
    const m = compileStringPatterns(to.paths)
    parts.push((req) => m(req.path))
  }
  if (to.notPaths) {
    const m = compileStringPatterns(to.notPaths)
    parts.push((req) => !m(req.path))
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
  return (req) => {
    for (const p of parts) if (!p(req)) return false
    return true
  }
}

function any(parts: Matcher[]): Matcher {
  if (parts.length === 1) return parts[0]!
  return (req) => {
    for (const p of parts) if (p(req)) return true
    return false
  }
}
