// Cases after the Gateway API conformance tests HTTPRouteRedirectScheme, HTTPRouteRedirectPort,
// HTTPRouteRedirectPortAndScheme, HTTPRouteRedirectHostAndStatus and HTTPRouteRedirectPath.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { requestRedirect, type RequestRedirectConfig } from '../../../../worker/filters/request-redirect.ts'
import type { RedirectRequest } from '../../../../worker/route/types.ts'

const req = (over: Partial<RedirectRequest> = {}): RedirectRequest => ({ scheme: 'http', host: 'example.com', path: '/p', query: '', ...over })
const redirect = (config: Partial<RequestRedirectConfig>, r: RedirectRequest, prefix?: string) => requestRedirect({ statusCode: 302, ...config })(r, prefix)

test('the port: configured, else implied by a configured scheme, else the one the client used; defaults dropped', () => {
  const cases: [Partial<RequestRedirectConfig>, Partial<RedirectRequest>, string][] = [
    [{ hostname: 'example.org' }, {}, 'http://example.org/p'],
    [{ hostname: 'example.org' }, { host: 'example.com:8080' }, 'http://example.org:8080/p'],
    [{ hostname: 'example.org', port: 80 }, { host: 'example.com:8080' }, 'http://example.org/p'],
    [{ hostname: 'example.org', port: 8080 }, {}, 'http://example.org:8080/p'],
    [{ scheme: 'https', hostname: 'example.org' }, { host: 'example.com:8080' }, 'https://example.org/p'],
    [{ scheme: 'https', port: 443 }, {}, 'https://example.com/p'],
    [{ scheme: 'https', port: 8443 }, {}, 'https://example.com:8443/p'],
    [{ scheme: 'http' }, { scheme: 'https', host: 'example.com:443' }, 'http://example.com/p'],
    [{ port: 443 }, { scheme: 'https' }, 'https://example.com/p'],
    [{ port: 80 }, { scheme: 'https' }, 'https://example.com:80/p'],
    [{}, { scheme: 'https', host: 'example.com:8443' }, 'https://example.com:8443/p'],
    [{ port: 8083 }, { host: '[::1]:8080' }, 'http://[::1]:8083/p'],
  ]
  for (const [config, over, want] of cases) assert.equal(redirect(config, req(over)).location, want, `${JSON.stringify(config)} ${JSON.stringify(over)}`)
})

test('status code: 302 by default, as configured otherwise', () => {
  assert.equal(requestRedirect({ scheme: 'https' } as RequestRedirectConfig)(req(), undefined).status, 302)
  assert.equal(redirect({ statusCode: 301 }, req()).status, 301)
  assert.equal(redirect({ statusCode: 308 }, req()).status, 308)
})

test('path modifiers, and the query string is kept', () => {
  assert.equal(
    redirect({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/replacement-prefix' } }, req({ path: '/original-prefix/lemon', query: 'a=1&b=%20' }), '/original-prefix').location,
    'http://example.com/replacement-prefix/lemon?a=1&b=%20',
  )
  assert.equal(redirect({ path: { type: 'ReplaceFullPath', replaceFullPath: '/full-path-replacement' } }, req({ path: '/full/path/original' })).location, 'http://example.com/full-path-replacement')
  assert.equal(redirect({ path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } }, req({ path: '/strip' }), '/strip').location, 'http://example.com/')
})
