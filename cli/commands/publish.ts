/**
 * `legate publish JWS --control URL`: PUTs a signed config to the control worker and prints
 * `{mesh, version, digest}`. Each refusal comes back as `error: <code>: <message>` with exit 1.
 * @module
 */
import type { Command } from 'commander'
import { LegateError, type LegateErrorCode } from '../../protocol/errors.ts'
import { maxConfigBytesOption, option, positiveInt, readJws, UsageError } from '../options.ts'

interface PublishFlags {
  control: string
  token?: string
  timeout: number
  maxConfigBytes?: number
}

/** The mesh a JWS is for, read without verifying (the control verifies; so do ambassadors). */
async function meshOf(jws: string): Promise<string> {
  const [{ decodeJwt }, { NAME_RE }] = await Promise.all([import('jose'), import('../../protocol/schema.ts')])
  let aud: unknown
  try {
    aud = decodeJwt(jws).aud
  } catch {
    throw new LegateError('malformed', 'the signed config is not a compact JWS with a JSON payload')
  }
  if (typeof aud !== 'string' || !NAME_RE.test(aud)) throw new LegateError(aud === undefined ? 'missing_claim' : 'bad_claim', 'the signed config has no mesh name in its "aud" claim')
  return aud
}

export function publish(program: Command) {
  program
    .command('publish')
    .description('publish a signed config to the control worker; prints {mesh, version, digest}')
    .argument('<jws>', 'signed config file, or - for stdin')
    .addOption(option('--control <url>', 'the control worker, e.g. http://127.0.0.1:8787').makeOptionMandatory())
    .addOption(option('--token <token>', 'publish token (Authorization: Bearer)'))
    .addOption(option('--timeout <seconds>', 'give up after this long').argParser(positiveInt('--timeout')).default(30))
    .addOption(maxConfigBytesOption())
    .action(async (path: string, opts: PublishFlags) => {
      let base: URL
      try {
        base = new URL(opts.control)
      } catch {
        throw new UsageError(`--control must be a URL, not "${opts.control}"`)
      }
      if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`--control must be an http(s) URL, not "${opts.control}"`)
      const jws = await readJws(path, opts.maxConfigBytes)
      const mesh = await meshOf(jws)
      const url = new URL(`v1/meshes/${mesh}/config`, base.href.endsWith('/') ? base : `${base.href}/`)
      const headers: Record<string, string> = { 'content-type': 'application/jwt' }
      if (opts.token) headers.authorization = `Bearer ${opts.token}`
      let response: Response
      try {
        response = await fetch(url, { method: 'PUT', headers, body: jws, signal: AbortSignal.timeout(opts.timeout * 1000) })
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${opts.timeout}s` : (cause?.code ?? cause?.message ?? (err as Error).message)
        throw new LegateError('unreachable', `cannot reach the control at ${base.origin}: ${why}`)
      }
      const text = await response.text()
      let body: { error?: string; message?: string; issues?: Array<{ path: string; message: string }>; version?: number; digest?: string } | undefined
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      if (response.status === 201 && body?.version !== undefined) {
        process.stdout.write(JSON.stringify({ mesh, version: body.version, digest: body.digest }) + '\n')
        return
      }
      if (body?.error && body.message) {
        throw new LegateError(body.error as LegateErrorCode, body.message, body.issues ? { issues: body.issues, status: response.status } : { status: response.status })
      }
      throw new LegateError('unreachable', `the control at ${base.origin} answered ${response.status} ${response.statusText} without a legate error body`)
    })
}
