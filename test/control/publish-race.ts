/**
 * The acceptance check for concurrent publishes (issue 4, item 2): PUT 50 distinct
 * versions at once, spread over one or more controls, then require that the highest is
 * current, that every version answered 201 is listed once and reads back byte-identical,
 * that every other answer is 409, and that none is a 5xx.
 * @module
 */
import assert from 'node:assert/strict'
import type { Publisher } from './fixtures.ts'

export async function publishRace(urls: string[], pub: Publisher, options: { mesh?: string; count?: number; token?: string; base?: number } = {}) {
  const mesh = options.mesh ?? 'demo'
  const count = options.count ?? 50
  const base = options.base ?? 1000
  const versions = Array.from({ length: count }, (_, i) => base + i)
  const signed = new Map<number, string>()
  for (const v of versions) signed.set(v, await pub.sign(v, { mesh }))
  const order = [...versions].sort(() => Math.random() - 0.5)
  const answers = await Promise.all(
    order.map(async (v, i) => {
      const res = await fetch(`${urls[i % urls.length]}/v1/meshes/${mesh}/config`, {
        method: 'PUT',
        body: signed.get(v),
        headers: { 'content-type': 'application/jwt', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      })
      return { v, status: res.status, body: await res.json() }
    }),
  )
  for (const a of answers) assert.ok(a.status === 201 || a.status === 409, `version ${a.v}: ${a.status} ${JSON.stringify(a.body)}`)
  const accepted = answers.filter((a) => a.status === 201).map((a) => a.v)
  const highest = Math.max(...versions)
  assert.ok(accepted.includes(highest), 'the highest version must be accepted')
  for (const url of urls) {
    const current = await fetch(`${url}/v1/meshes/${mesh}/config`)
    assert.equal(current.headers.get('etag'), `"${highest}"`)
    assert.equal(await current.text(), signed.get(highest))
    const list: Array<{ version: number }> = await (await fetch(`${url}/v1/meshes/${mesh}/versions`)).json()
    const ours = new Set(versions)
    const listed = list.map((m) => m.version).filter((v) => ours.has(v))
    assert.equal(new Set(listed).size, listed.length, 'a version is listed twice')
    assert.deepEqual([...listed].sort((a, b) => a - b), [...accepted].sort((a, b) => a - b))
    for (const v of accepted) assert.equal(await (await fetch(`${url}/v1/meshes/${mesh}/versions/${v}`)).text(), signed.get(v))
  }
  for (const a of answers.filter((x) => x.status === 409)) assert.equal(a.body.error, 'version_not_newer')
  return { accepted: accepted.length, refused: answers.length - accepted.length }
}
