/** Cache-Control and Vary helpers (Django's patch_cache_control, never_cache, vary_on_headers) on real node responses. */
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { neverCache, patchCacheControl, patchVary } from '../../src/http/index.js'
import { parseCacheControl, patchCacheControlValue } from '../../src/http/cache_control.js'

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()))
}

describe('Cache-Control helpers', () => {
  it('parses directives leniently: lowercase names, quoted arguments, first occurrence wins', () => {
    expect([...parseCacheControl('Public, MAX-AGE=60, no-cache="Set-Cookie", , max-age=5')]).toEqual([
      ['public', true],
      ['max-age', '60'],
      ['no-cache', 'Set-Cookie'],
    ])
  })

  it('patchCacheControl merges: public and private replace each other, the smaller max-age wins, false removes', () => {
    const res = response()
    res.setHeader('cache-control', 'private, max-age=60, must-revalidate')
    patchCacheControl(res, { public: true, maxAge: '5m', sMaxAge: '10m', mustRevalidate: false })
    expect(res.getHeader('cache-control')).toBe('max-age=60, public, s-maxage=600')
    patchCacheControl(res, { maxAge: 10_000 })
    expect(res.getHeader('cache-control')).toBe('max-age=10, public, s-maxage=600')
    expect(patchCacheControlValue(undefined, { raw: 'no-transform, stale-if-error=30' })).toBe(
      'no-transform, stale-if-error=30',
    )
  })

  it('neverCache forbids every cache from storing the response', () => {
    const res = response()
    res.setHeader('cache-control', 'public, max-age=3600')
    neverCache(res)
    expect(res.getHeader('cache-control')).toBe('max-age=0, private, no-cache, no-store, must-revalidate')
    expect(Date.parse(String(res.getHeader('expires')))).toBeLessThanOrEqual(Date.now())
  })

  it('patchVary adds headers once, case-insensitively, and * absorbs the rest', () => {
    const res = response()
    res.setHeader('vary', 'Accept-Encoding')
    patchVary(res, ['accept-encoding', 'Accept-Language', 'Accept-Language'])
    expect(res.getHeader('vary')).toBe('Accept-Encoding, Accept-Language')
    patchVary(res, ['*'])
    expect(res.getHeader('vary')).toBe('*')
  })

  it('works on anything with getHeader and header (a Fastify reply)', () => {
    const headers: Record<string, string> = {}
    const reply = {
      getHeader: (name: string) => headers[name],
      header: (name: string, value: string) => (headers[name] = value),
    }
    patchCacheControl(reply, { public: true, maxAge: '1m' })
    expect(headers['cache-control']).toBe('public, max-age=60')
  })

  it('refuses unknown directives and bad values with a TypeError naming them', () => {
    const res = response()
    expect(() => patchCacheControl(res, { maxAge: -1 })).toThrow(/`directives.maxAge`/)
    expect(() => patchCacheControl(res, { public: 'yes' } as never)).toThrow(/`directives.public` to be a boolean/)
    expect(() => patchCacheControl(res, { maxage: 1 } as never)).toThrow(/only Cache-Control directives, got `maxage`/)
    expect(() => patchVary(res, 'Accept' as never)).toThrow(/`headers`/)
    expect(() => patchCacheControl({} as never, { public: true })).toThrow(TypeError)
  })
})
