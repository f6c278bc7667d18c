/**
 * The global rate-limit store on workerd: one Durable Object per bucket key. A Durable
 * Object handles its requests one at a time, so the take-a-token step is atomic without
 * a lock, and every ambassador (every isolate, every colo) that names the same key
 * reaches the same object. Buckets live in the object's memory: if the object is evicted
 * the bucket starts full again, as an expired Redis key does.
 *
 * Bind the class in wrangler.toml (`[[durable_objects.bindings]] name = "RATE_LIMITER",
 * class_name = "RateLimiterObject"`) and export it from the worker entry.
 * @module
 */
import type { GlobalLimiter } from './global-limiter.ts'
import { createTokenBucketTable, type BucketLimit, type BucketResult, type TokenBucketTable } from './token-bucket.ts'

/** The binding's shape, as much of it as the limiter uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> }
}

interface TakeBody extends BucketLimit {
  key: string
}

/** The Durable Object class: POST {key, requests, perMs, burst?} → BucketResult. */
export class RateLimiterObject {
  /** One table per limit shape; normally a single one, since an object serves one key. */
  private readonly tables = new Map<string, TokenBucketTable>()

  async fetch(request: Request): Promise<Response> {
    if (request.method !== 'POST') return new Response('POST only', { status: 405 })
    let body: TakeBody
    try {
      body = (await request.json()) as TakeBody
    } catch {
      return new Response('body must be JSON', { status: 400 })
    }
    const { key, requests, perMs, burst } = body
    if (typeof key !== 'string' || !(requests >= 1) || !(perMs > 0) || (burst !== undefined && !(burst >= 1))) {
      return new Response('body must be {key, requests, perMs, burst?}', { status: 400 })
    }
    const shape = `${requests}/${perMs}/${burst ?? requests}`
    let table = this.tables.get(shape)
    if (!table) {
      table = createTokenBucketTable({ requests, perMs, ...(burst === undefined ? {} : { burst }) }, 1024)
      this.tables.set(shape, table)
    }
    return Response.json(table.take(key, Date.now()))
  }
}

export function createDurableObjectLimiter(namespace: DurableObjectNamespaceLike): GlobalLimiter {
  return {
    name: 'durable-object',
    async take(key, limit): Promise<BucketResult> {
      const stub = namespace.get(namespace.idFromName(key) as never)
      const res = await stub.fetch('https://rate-limiter/take', { method: 'POST', body: JSON.stringify({ key, ...limit }) })
      if (!res.ok) throw new Error(`rate limiter object answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as BucketResult
    },
  }
}
