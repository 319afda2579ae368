/** Encoding negotiation and conditional requests on stored pages. */
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import type { Page } from '../../src/http/page.js'
import { accepts, notModified, servePage, type HeaderList } from '../../src/http/serve.js'

function page(overrides: Partial<Page> = {}): Page {
  return {
    t: 'page',
    v: 1,
    status: 200,
    headers: { 'content-type': 'text/plain', etag: '"abc"' },
    body: Buffer.from('hello'),
    etag: '"abc"',
    lastModified: Date.parse('Mon, 01 Jan 2024 00:00:00 GMT'),
    encoding: '',
    storedAt: Date.now() - 5000,
    fresh: 60_000,
    swr: 0,
    grace: 0,
    tags: [],
    ...overrides,
  }
}

function asObject(list: HeaderList): Record<string, unknown> {
  const headers: Record<string, unknown> = {}
  for (let i = 0; i < list.length; i += 2) headers[list[i] as string] = list[i + 1]
  return headers
}

describe('serving a stored page', () => {
  it('reads Accept-Encoding with q-values and *', () => {
    expect(accepts('gzip, br', 'gzip')).toBe(true)
    expect(accepts('br;q=1, gzip;q=0', 'gzip')).toBe(false)
    expect(accepts('*', 'br')).toBe(true)
    expect(accepts('*, br;q=0', 'br')).toBe(false)
    expect(accepts('deflate', 'gzip')).toBe(false)
    expect(accepts(undefined, 'gzip')).toBe(false)
  })

  it('compares If-None-Match weakly, ignores If-Modified-Since when it is present', () => {
    expect(notModified({ 'if-none-match': 'W/"abc"' }, '"abc"', 0)).toBe(true)
    expect(notModified({ 'if-none-match': '"x", "abc"' }, 'W/"abc"', 0)).toBe(true)
    expect(notModified({ 'if-none-match': '"x"', 'if-modified-since': new Date().toUTCString() }, '"abc"', 1)).toBe(
      false,
    )
    expect(notModified({ 'if-modified-since': 'garbage' }, '"abc"', 1000)).toBe(false)
  })

  it('adds Age and the status headers; answers 304 with only the headers RFC 9110 lists', () => {
    const labels = { xCache: 'HIT-L1', cacheStatus: 'tiercache; hit' }
    const served = servePage(page(), {}, false, labels, Date.now())
    expect(asObject(served.headers)).toMatchObject({ age: '5', 'x-cache': 'HIT-L1', 'content-length': '5' })
    const notModified304 = servePage(page(), { 'if-none-match': '"abc"' }, false, labels, Date.now())
    expect(notModified304.status).toBe(304)
    expect(notModified304.body).toBeUndefined()
    expect(Object.keys(asObject(notModified304.headers)).sort()).toEqual(['age', 'cache-status', 'etag', 'x-cache'])
    // No 304 for redirects.
    expect(servePage(page({ status: 301 }), { 'if-none-match': '*' }, false, labels, Date.now()).status).toBe(301)
    expect(servePage(page(), {}, true, undefined, Date.now()).body).toBeUndefined()
  })

  it('decodes a gzip page once for clients that do not accept gzip', () => {
    const stored = page({ body: gzipSync('hello'), encoding: 'gzip', headers: { 'content-encoding': 'gzip' } })
    const raw = servePage(stored, { 'accept-encoding': 'gzip' }, false, undefined, Date.now())
    expect(raw.remove).toEqual([])
    const decoded = servePage(stored, {}, false, undefined, Date.now())
    expect(Buffer.from(decoded.body as Uint8Array).toString()).toBe('hello')
    expect(decoded.remove).toEqual(['content-encoding'])
    expect(asObject(decoded.headers)).toMatchObject({ etag: 'W/"abc"', vary: 'Accept-Encoding', 'content-length': '5' })
    expect(servePage(stored, {}, false, undefined, Date.now()).body).toBe(decoded.body) // decoded once
  })
})
