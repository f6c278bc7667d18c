/**
 * `npm run edge:publish -- CONFIG.jws --trust JWKS [--persist-to DIR] [--env NAME] [--dev-vars PATH]`:
 * puts a signed config into the LOCAL KV that `npx wrangler dev` serves the ambassador
 * from, in the control's layout (CONTRACT §4: `meshes/<mesh>/versions/<ver>` first, then
 * `meshes/<mesh>/current`), after verifying it as the control would. It also writes
 * LEGATE_MESH and LEGATE_TRUST into .dev.vars (other lines kept), so `wrangler dev` pins
 * the same keys. For a deployed worker, publish through the control instead (`legate publish`).
 */
import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { createTrustSet, verifyConfig, isLegateError } from '../protocol/index.ts'

const root = new URL('../', import.meta.url).pathname
const { values, positionals } = parseArgs({ allowPositionals: true, options: { trust: { type: 'string' }, 'persist-to': { type: 'string' }, env: { type: 'string' }, 'dev-vars': { type: 'string' }, help: { type: 'boolean' } } })
if (values.help || positionals.length !== 1 || !values.trust) {
  console.error('usage: npm run edge:publish -- CONFIG.jws --trust JWKS [--persist-to DIR] [--env NAME] [--dev-vars PATH]')
  process.exit(values.help ? 0 : 2)
}

const jws = readFileSync(positionals[0]!, 'utf8').trim()
const jwks = JSON.parse(readFileSync(values.trust, 'utf8')) as unknown
let verified
try {
  const payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { aud?: string }
  verified = await verifyConfig(jws, { trust: await createTrustSet(jwks, values.trust), mesh: String(payload.aud ?? '') })
} catch (err) {
  console.error(isLegateError(err) ? `error: ${err.code}: ${err.message}` : `error: malformed: ${(err as Error).message}`)
  process.exit(1)
}

const dir = mkdtempSync(join(tmpdir(), 'legate-edge-publish-'))
const file = join(dir, 'config.jws')
writeFileSync(file, jws)
const put = (key: string) => {
  const args = [join(root, 'node_modules/wrangler/bin/wrangler.js'), 'kv', 'key', 'put', key, '--path', file, '--binding', 'LEGATE_KV', '--local', '--env', values.env ?? '']
  if (values['persist-to']) args.push('--persist-to', values['persist-to'])
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } })
  if (r.status !== 0) {
    console.error(`error: io_error: wrangler kv key put ${key} failed:\n${r.stdout}${r.stderr}`)
    process.exit(1)
  }
}
put(`meshes/${verified.mesh}/versions/${verified.ver}`)
put(`meshes/${verified.mesh}/current`)
rmSync(dir, { recursive: true, force: true })

// wrangler dev reads .dev.vars over [vars]: pin the same trust there.
const devVars = values['dev-vars'] ?? join(root, '.dev.vars')
const kept = existsSync(devVars) ? readFileSync(devVars, 'utf8').split('\n').filter((l) => l && !/^LEGATE_(MESH|TRUST)=/.test(l)) : []
writeFileSync(devVars, [...kept, `LEGATE_MESH=${JSON.stringify(verified.mesh)}`, `LEGATE_TRUST='${JSON.stringify(jwks)}'`, ''].join('\n'))
console.log(JSON.stringify({ mesh: verified.mesh, ver: verified.ver, digest: verified.digest, kv: `meshes/${verified.mesh}/current`, devVars }))
