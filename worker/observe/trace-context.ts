/**
 * W3C Trace Context (`traceparent`): the ambassador is one span. A valid incoming
 * traceparent yields a child (same trace id, new parent id, flags kept); anything else
 * starts a new trace, sampled. https://www.w3.org/TR/trace-context/#traceparent-header
 * @module
 */
import { randomHex } from './random-hex.ts'

export const TRACEPARENT_HEADER = 'traceparent'
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'

export interface TraceContext {
  traceId: string
  /** This hop's span id: the parent id the upstream sees. */
  spanId: string
  /** The `traceparent` to send upstream. */
  traceparent: string
}

/** The span this hop forwards with: a child of `incoming` when it parses, else a new trace. */
export function childTrace(incoming: string | null | undefined): TraceContext {
  const spanId = randomHex(8)
  const m = incoming ? TRACEPARENT.exec(incoming.trim()) : null
  // Version ff is invalid; a future version may add fields after ours (kept out: we speak 00).
  if (m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN && (m[1] !== '00' || m[5] === undefined)) {
    const traceId = m[2]!
    return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${m[4]}` }
  }
  const traceId = randomHex(16)
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` }
}
