/**
 * TLS origination settings per service (`services[].tls`), resolved on Node: PEM files are
 * read once per config version, never per request. Verification always stays on; a
 * service's `ca`/`caFile` replaces the system roots for it, `serverName` sets SNI and the
 * name checked against the certificate, `certFile`/`keyFile` present a client certificate.
 * A file that cannot be read does not stop the config: requests to that service get 502
 * `upstream_unavailable` saying which file, and the error is logged once.
 * @module
 */
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { buildConnector } from 'undici'
import type { ServiceConfig } from '../../../protocol/schema.ts'

export interface TlsSettings {
  ca?: string
  servername?: string
  cert?: Buffer
  key?: Buffer
  /** Why these settings cannot be used (a file could not be read). */
  error?: string
}

const read = (path: string, what: string): Buffer => {
  try {
    return readFileSync(path)
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** The Node TLS options for one service; undefined when it declares none. */
export function resolveTls(tls: ServiceConfig['tls']): TlsSettings | undefined {
  if (!tls) return undefined
  try {
    const cas = [tls.ca, tls.caFile ? read(tls.caFile, 'tls.caFile').toString('utf8') : undefined].filter((x): x is string => !!x)
    return {
      ...(cas.length ? { ca: cas.join('\n') } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
      ...(tls.certFile ? { cert: read(tls.certFile, 'tls.certFile') } : {}),
      ...(tls.keyFile ? { key: read(tls.keyFile, 'tls.keyFile') } : {}),
    }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** A stable key for a settings object, so a pool is rebuilt only when its TLS settings change. */
export function tlsKey(s: TlsSettings | undefined): string {
  if (!s) return ''
  return JSON.stringify([s.ca ?? '', s.servername ?? '', s.cert?.toString('base64') ?? '', s.key ? s.key.length : 0, s.error ?? ''])
}

/** TLS handshake and certificate failures, by their Node/OpenSSL codes: logged with the reason. */
export const isTlsFailure = (code: string | undefined): boolean =>
  !!code &&
  (code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SELF_SIGNED|UNABLE_TO|DEPTH_ZERO|HOSTNAME|ALTNAME|EPROTO/.test(code))

/**
 * The undici connector for an https: endpoint. undici would otherwise take SNI and the name
 * it verifies from the request's Host header (the service name the client used); a proxy
 * must verify the endpoint: `tls.serverName`, else the endpoint's host (no SNI for an IP).
 */
export function tlsConnector(origin: string, settings: TlsSettings | undefined, timeout: number): buildConnector.connector {
  const host = new URL(origin).hostname.replace(/^\[|\]$/g, '')
  const servername = settings?.servername ?? (isIP(host) ? undefined : host)
  const { error: _error, ...tls } = settings ?? {}
  const connect = buildConnector({ ...tls, timeout, rejectUnauthorized: true, ...(servername ? { servername } : {}) } as buildConnector.BuildOptions)
  return (opts, callback) => connect({ ...opts, servername: servername ?? '' }, callback)
}
