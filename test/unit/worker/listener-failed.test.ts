/**
 * A routed Node listener serves HTTP/1.1 requests with the core's handler unguarded
 * (`Ambassador.unguarded`): what the handler throws or rejects with is answered by the
 * listener with `failed`'s answer, and without `failed` the connection is cut.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'undici'
import { createListener } from '../../../worker/platforms/node/listener.ts'
import type { ContextHandler } from '../../../worker/platform.ts'

const failed = (err: unknown) => Response.json({ error: 'internal', message: String((err as Error).message) }, { status: 500 })

for (const [name, handle] of [
  ['throws', (() => { throw new Error('thrown') }) as ContextHandler],
  ['rejects', (() => Promise.reject(new Error('rejected'))) as ContextHandler],
] as const) {
  test(`a handler that ${name} gets failed()'s answer`, async () => {
    const l = await createListener({ fetch: () => new Response('fetch'), handle, failed, port: 0 })
    try {
      const r = await request(`http://127.0.0.1:${l.port}/x`, { headers: { host: 'echo' } })
      assert.equal(r.statusCode, 500)
      assert.deepEqual(await r.body.json(), { error: 'internal', message: name === 'throws' ? 'thrown' : 'rejected' })
    } finally {
      await l.close()
    }
  })
}

test('without failed, a rejecting handler cuts the connection', async () => {
  const l = await createListener({ fetch: () => new Response('fetch'), handle: () => Promise.reject(new Error('x')), port: 0 })
  try {
    await assert.rejects(request(`http://127.0.0.1:${l.port}/x`, { headers: { host: 'echo' } }))
  } finally {
    await l.close()
  }
})
