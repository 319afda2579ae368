/** Which requests may be served from the cache, and their keys. */
import { describe, expect, it } from 'vitest'
import { resolveRoute, type ResponseCacheOptions } from '../../src/http/options.js'
import { normaliseQuery, planRequest, type RequestView } from '../../src/http/request_key.js'

function view(overrides: Partial<RequestView> = {}): RequestView {
  return { method: 'GET', url: '/p', headers: {}, host: 'shop.example', protocol: 'https', ...overrides }
}

function plan(options: ResponseCacheOptions<never>, overrides: Partial<RequestView> = {}) {
  return planRequest(view(overrides), resolveRoute(options))
}

function key(options: ResponseCacheOptions<never>, overrides: Partial<RequestView> = {}): string {
  const result = plan(options, overrides)
  if (result.kind !== 'lookup') throw new Error(`bypassed: ${result.detail}`)
  return result.key
}

describe('planRequest', () => {
  it('keys GET and HEAD alike, by protocol, host (case-insensitive), path and query, hashed', () => {
    const base = key({})
    expect(base).toMatch(/^http:[A-Za-z0-9_-]{43}$/)
    expect(key({}, { method: 'HEAD' })).toBe(base)
    expect(key({}, { host: 'SHOP.example' })).toBe(base)
    expect(key({}, { host: 'other.example' })).not.toBe(base)
    expect(key({}, { protocol: 'http' })).not.toBe(base)
    expect(key({}, { url: '/p/' })).not.toBe(base)
    expect(key({}, { url: '/p?' })).toBe(base)
  })

  it('normalises the query: sorted by name, one encoding, values of a name in order', () => {
    expect(normaliseQuery('b=2&a=1&a=0', 'all')).toBe('a=1&a=0&b=2')
    expect(normaliseQuery('q=a%20b', 'all')).toBe(normaliseQuery('q=a+b', 'all'))
    expect(normaliseQuery('page=2&utm_source=x', new Set(['page']))).toBe('page=2')
    expect(key({ query: 'none' }, { url: '/p?x=1' })).toBe(key({}, { url: '/p' }))
  })

  it('adds the vary headers and the named cookies to the key', () => {
    const options = { vary: ['Accept-Language'], cookies: ['locale'] }
    const en = key(options, { headers: { 'accept-language': 'en' } })
    expect(key(options, { headers: { 'accept-language': 'fr' } })).not.toBe(en)
    const a = key(options, { headers: { 'accept-language': 'en', cookie: 'locale=fr' } })
    expect(a).not.toBe(en)
    expect(plan(options, { headers: { cookie: ' locale=fr ' } })).toMatchObject({ cookies: 'locale=fr' })
  })

  it('bypasses other methods, Authorization, Range, unnamed cookies and unknown hosts', () => {
    expect(plan({}, { method: 'POST' })).toMatchObject({ kind: 'bypass', fwd: 'method' })
    expect(plan({}, { headers: { authorization: 'x' } })).toMatchObject({ kind: 'bypass', detail: 'authorization' })
    expect(plan({}, { headers: { range: 'bytes=0-' } })).toMatchObject({ kind: 'bypass', detail: 'range' })
    expect(plan({ cookies: ['a'] }, { headers: { cookie: 'a=1; b=2' } })).toMatchObject({ detail: 'cookie' })
    expect(plan({ ignoreCookies: ['_ga*'] }, { headers: { cookie: '_ga=1; _gid=2' } })).toMatchObject({
      detail: 'cookie',
    })
    expect(plan({ ignoreCookies: ['_ga*', '_gid'] }, { headers: { cookie: '_ga=1; _gid=2' } })).toMatchObject({
      kind: 'lookup',
    })
    expect(plan({ hosts: ['shop.example'] }, { host: 'shop.example:8080' })).toMatchObject({ kind: 'lookup' })
    expect(plan({ hosts: ['shop.example'] }, { host: 'evil.example' })).toMatchObject({ detail: 'host' })
  })
})
