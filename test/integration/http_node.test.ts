/**
 * withResponseCache on a real node:http server over real HTTP, with a real redis-server: what is
 * stored, under which key, what each client gets (HIT-L1/HIT-L2, HEAD, 304, encodings), and what
 * is never stored or never served from the cache.
 */
import { gzipSync } from 'node:zlib'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { makeNode } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { send } from '../fixtures/http/client.js'
import { cachedNode, closeServers, Stampede, stampedeNode } from '../fixtures/http/servers.js'

const redis = useRedis()
afterEach(closeServers)

/** A handler answering `text` for every URL, counting its renders. */
function counting(text = 'page'): {
  renders: () => number
  handler: (req: IncomingMessage, res: ServerResponse) => void
} {
  let renders = 0
  return {
    renders: () => renders,
    handler: (req, res) => {
      renders++
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end(`${text} ${req.url} #${renders}`)
    },
  }
}

describe('withResponseCache (node:http)', () => {
  it('answers MISS, then HIT-L1 with Age, a strong ETag and Cache-Status; HEAD is served from the GET entry', async () => {
    const cache = await makeNode(redis.url)
    const page = counting()
    const base = await cachedNode(cache, page.handler, { ttl: '1m' })

    const miss = await send(base, '/a')
    expect(miss.cache).toBe('MISS')
    expect(miss.headers['cache-status']).toBe('tiercache; fwd=miss; fwd-status=200; stored')
    expect(miss.headers.age).toBe('0')
    expect(miss.headers.etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/)
    const hit = await send(base, '/a')
    expect(hit.cache).toBe('HIT-L1')
    expect(hit.text).toBe(miss.text)
    expect(hit.headers.etag).toBe(miss.headers.etag)
    expect(hit.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(hit.headers['cache-status']).toMatch(/^tiercache; hit; ttl=(59|60)$/)
    const head = await send(base, '/a', { method: 'HEAD' })
    expect(head.cache).toBe('HIT-L1')
    expect(head.body.length).toBe(0)
    expect(head.headers['content-length']).toBe(String(miss.body.length))
    expect(page.renders()).toBe(1)
  })

  it('a HEAD miss renders a GET, stores it, and a GET is then a hit', async () => {
    const cache = await makeNode(redis.url)
    const methods: string[] = []
    const base = await cachedNode(
      cache,
      (req, res) => {
        methods.push(req.method ?? '')
        res.end('body of the page')
      },
      { ttl: '1m' },
    )
    const head = await send(base, '/h', { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.body.length).toBe(0)
    expect(head.headers['content-length']).toBe('16')
    const get = await send(base, '/h')
    expect(get.cache).toBe('HIT-L1')
    expect(get.text).toBe('body of the page')
    expect(methods).toEqual(['GET'])
  })

  it('a page stored by another server is a HIT-L2 there, then HIT-L1', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url)
    const page = counting()
    const baseA = await cachedNode(a, page.handler, { ttl: '1m' })
    const baseB = await cachedNode(b, page.handler, { ttl: '1m' })
    // Behind a load balancer every server sees the same Host (here each listens on its own port).
    const headers = { host: 'shop.example' }
    expect((await send(baseA, '/shared', { headers })).cache).toBe('MISS')
    const l2 = await send(baseB, '/shared', { headers })
    expect(l2.cache).toBe('HIT-L2')
    expect(l2.headers['cache-status']).toMatch(/^tiercache; hit; ttl=/)
    expect((await send(baseB, '/shared', { headers })).cache).toBe('HIT-L1')
    expect(page.renders()).toBe(1)
  })

  it('answers conditional requests with 304 and no body: If-None-Match (weak comparison), then If-Modified-Since', async () => {
    const cache = await makeNode(redis.url)
    const modified = new Date(Date.now() - 60_000).toUTCString()
    const seen: Array<string | undefined> = []
    const base = await cachedNode(
      cache,
      (req, res) => {
        seen.push(req.headers['if-none-match'])
        res.setHeader('last-modified', modified)
        res.end('conditional body')
      },
      { ttl: '1m' },
    )
    // A conditional miss reaches the handler without its validators, so the full body is stored,
    // and the client still gets its 304.
    const first = await send(base, '/c', { headers: { 'if-none-match': '"nope"' } })
    expect(first.status).toBe(200)
    const etag = first.headers.etag as string
    expect(seen).toEqual([undefined])
    const matched = await send(base, '/c', { headers: { 'if-none-match': `"x", W/${etag}` } })
    expect(matched.status).toBe(304)
    expect(matched.body.length).toBe(0)
    expect(matched.headers.etag).toBe(etag)
    expect(matched.cache).toBe('HIT-L1')
    expect((await send(base, '/c', { headers: { 'if-none-match': '*' } })).status).toBe(304)
    expect((await send(base, '/c', { headers: { 'if-modified-since': modified } })).status).toBe(304)
    const older = new Date(Date.parse(modified) - 1000).toUTCString()
    expect((await send(base, '/c', { headers: { 'if-modified-since': older } })).status).toBe(200)
    // If-None-Match wins over If-Modified-Since.
    expect(
      (await send(base, '/c', { headers: { 'if-none-match': '"x"', 'if-modified-since': modified } })).status,
    ).toBe(200)
    const cold = await send(base, '/c2', { headers: { 'if-modified-since': modified } })
    expect(cold.status).toBe(304) // the new page matches the client's date, and was stored in full
    expect((await send(base, '/c2')).text).toBe('conditional body')
  })

  it('keys the query: sorted (all), ignored (none), or only the listed names', async () => {
    const cache = await makeNode(redis.url)
    const all = counting('all')
    const none = counting('none')
    const listed = counting('listed')
    const baseAll = await cachedNode(cache.namespace('all'), all.handler, { ttl: '1m' })
    const baseNone = await cachedNode(cache.namespace('none'), none.handler, { ttl: '1m', query: 'none' })
    const baseListed = await cachedNode(cache.namespace('listed'), listed.handler, { ttl: '1m', query: ['page'] })

    await send(baseAll, '/s?b=2&a=1')
    expect((await send(baseAll, '/s?a=1&b=2')).cache).toBe('HIT-L1')
    expect((await send(baseAll, '/s?a=1&b=%32')).cache).toBe('HIT-L1') // encoded the same way
    expect((await send(baseAll, '/s?a=1&b=3')).cache).toBe('MISS')
    expect((await send(baseAll, '/s')).cache).toBe('MISS')
    expect(all.renders()).toBe(3)

    await send(baseNone, '/s?utm=1')
    expect((await send(baseNone, '/s?utm=2')).cache).toBe('HIT-L1')
    expect((await send(baseNone, '/s')).cache).toBe('HIT-L1')

    await send(baseListed, '/s?page=2&utm_source=x')
    expect((await send(baseListed, '/s?utm_source=y&page=2')).cache).toBe('HIT-L1')
    expect((await send(baseListed, '/s?page=3')).cache).toBe('MISS')
  })

  it('vary: listed request headers split pages and are added to Vary; a response varying on an unlisted header is not stored', async () => {
    const cache = await makeNode(redis.url)
    const base = await cachedNode(
      cache,
      (req, res) => {
        if (req.url === '/origin') res.setHeader('vary', 'Origin')
        res.end(`lang ${req.headers['accept-language'] ?? '-'}`)
      },
      { ttl: '1m', vary: ['Accept-Language'] },
    )
    const en = await send(base, '/v', { headers: { 'accept-language': 'en' } })
    expect(en.headers.vary).toBe('Accept-Language')
    const fr = await send(base, '/v', { headers: { 'accept-language': 'fr' } })
    expect(fr.cache).toBe('MISS')
    expect(fr.text).toBe('lang fr')
    const again = await send(base, '/v', { headers: { 'accept-language': 'en' } })
    expect([again.cache, again.text]).toEqual(['HIT-L1', 'lang en'])

    const origin = await send(base, '/origin')
    expect(origin.headers['cache-status']).toContain('detail=vary-origin')
    expect((await send(base, '/origin')).cache).toBe('MISS')
  })

  it('does not store Set-Cookie, private, no-store, no-cache, Vary: *, event streams, 404 (unless opted in) or errors', async () => {
    const cache = await makeNode(redis.url)
    const responses: Record<string, (res: ServerResponse) => void> = {
      '/set-cookie': (res) => res.setHeader('set-cookie', 'sid=1'),
      '/private': (res) => res.setHeader('cache-control', 'private, max-age=60'),
      '/no-store': (res) => res.setHeader('cache-control', 'no-store'),
      '/no-cache': (res) => res.setHeader('cache-control', 'no-cache'),
      '/vary-star': (res) => res.setHeader('vary', '*'),
      '/sse': (res) => res.setHeader('content-type', 'text/event-stream'),
      '/missing': (res) => (res.statusCode = 404),
      '/error': (res) => (res.statusCode = 500),
      '/redirect': (res) => (res.statusCode = 302),
    }
    let renders = 0
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      renders++
      responses[req.url ?? '']?.(res)
      res.end(`render ${renders}`)
    }
    const base = await cachedNode(cache.namespace('strict'), handler, { ttl: '1m', hitForMiss: 0 })
    const reasons: Record<string, string> = {}
    for (const path of Object.keys(responses)) {
      const first = await send(base, path)
      const second = await send(base, path)
      expect([first.cache, second.cache], path).toEqual(['MISS', 'MISS'])
      expect(second.text, path).not.toBe(first.text)
      reasons[path] = /detail=([^;]+)/.exec(String(first.headers['cache-status']))?.[1] ?? ''
    }
    expect(reasons).toEqual({
      '/set-cookie': 'set-cookie',
      '/private': 'private',
      '/no-store': 'no-store',
      '/no-cache': 'no-cache',
      '/vary-star': 'vary-star',
      '/sse': 'event-stream',
      '/missing': 'status',
      '/error': 'error',
      '/redirect': 'status',
    })
    const optedIn = await cachedNode(cache.namespace('404'), handler, { ttl: '1m', statuses: [404] })
    await send(optedIn, '/missing')
    expect((await send(optedIn, '/missing')).cache).toBe('HIT-L1')
  })

  it('bypasses requests with Authorization, Range, other cookies, other methods and unknown hosts', async () => {
    const cache = await makeNode(redis.url)
    const page = counting()
    const base = await cachedNode(cache, page.handler, {
      ttl: '1m',
      cookies: ['locale'],
      ignoreCookies: ['_ga', '_ga_*'],
      hosts: ['127.0.0.1'],
    })
    await send(base, '/b')
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ authorization: 'Bearer x' }, 'GET', 'tiercache; fwd=bypass; detail=authorization'],
      [{ range: 'bytes=0-1' }, 'GET', 'tiercache; fwd=bypass; detail=range'],
      [{ cookie: 'sid=secret' }, 'GET', 'tiercache; fwd=bypass; detail=cookie'],
      [{ cookie: '_ga=1; sid=secret' }, 'GET', 'tiercache; fwd=bypass; detail=cookie'],
      [{}, 'POST', 'tiercache; fwd=method'],
      [{ host: 'evil.example' }, 'GET', 'tiercache; fwd=bypass; detail=host'],
    ]
    for (const [headers, method, status] of cases) {
      const reply = await send(base, '/b', { headers, method })
      expect([reply.cache, reply.headers['cache-status']], JSON.stringify(headers)).toEqual(['BYPASS', status])
    }
    expect(page.renders()).toBe(1 + cases.length)
    // Ignored cookies are neither a bypass nor part of the key; named cookies are part of the key.
    expect((await send(base, '/b', { headers: { cookie: '_ga=1; _ga_X=2' } })).cache).toBe('HIT-L1')
    expect((await send(base, '/b', { headers: { cookie: 'locale=fr' } })).cache).toBe('MISS')
    expect((await send(base, '/b', { headers: { cookie: '_ga=3; locale=fr' } })).cache).toBe('HIT-L1')
  })

  it('streams a body over maxBodyBytes to its client as it comes, and does not store it', async () => {
    const cache = await makeNode(redis.url)
    let renders = 0
    const chunk = Buffer.alloc(1000, 'x')
    const base = await cachedNode(
      cache,
      async (req, res) => {
        renders++
        res.setHeader('content-type', 'text/plain')
        for (let i = 0; i < 5; i++) {
          res.write(chunk)
          await new Promise((resolve) => setImmediate(resolve))
        }
        res.end('end')
      },
      { ttl: '1m', maxBodyBytes: 2500 },
    )
    const first = await send(base, '/big')
    expect(first.body.length).toBe(5003)
    expect(first.headers['cache-status']).toContain('detail=size')
    expect(first.headers['transfer-encoding']).toBe('chunked') // streamed, not held
    const second = await send(base, '/big')
    expect([second.cache, second.body.length]).toEqual(['MISS', 5003])
    expect(renders).toBe(2)
    // Declared too large up front: passes at once.
    const declared = await cachedNode(
      cache.namespace('declared'),
      (req, res) => {
        res.setHeader('content-length', '4000')
        res.end(Buffer.alloc(4000))
      },
      { ttl: '1m', maxBodyBytes: 2500 },
    )
    expect((await send(declared, '/d')).headers['cache-status']).toContain('detail=size')
  })

  it('stores a gzip body once and serves it to clients that accept gzip, decoded to the others', async () => {
    const cache = await makeNode(redis.url)
    const text = 'compressible '.repeat(200)
    let renders = 0
    const base = await cachedNode(
      cache,
      (req, res) => {
        renders++
        res.setHeader('content-type', 'text/plain')
        res.setHeader('content-encoding', 'gzip')
        res.setHeader('vary', 'Accept-Encoding')
        res.end(gzipSync(text))
      },
      { ttl: '1m' },
    )
    const gzipped = await send(base, '/z', { headers: { 'accept-encoding': 'gzip, br' } })
    expect(gzipped.headers['content-encoding']).toBe('gzip')
    const plain = await send(base, '/z', { headers: { 'accept-encoding': 'br, gzip;q=0' } })
    expect(plain.cache).toBe('HIT-L1')
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.text).toBe(text)
    expect(plain.headers['content-length']).toBe(String(text.length))
    expect(plain.headers.etag).toBe(`W/${gzipped.headers.etag}`)
    expect(plain.headers.vary).toBe('Accept-Encoding')
    const again = await send(base, '/z', { headers: { 'accept-encoding': 'gzip' } })
    expect(again.body.equals(gzipped.body)).toBe(true)
    expect(renders).toBe(1)
  })

  it('takes the TTL from s-maxage, then max-age; a response without one, or with 0, is not stored', async () => {
    const cache = await makeNode(redis.url)
    const base = await cachedNode(cache, (req, res) => {
      const cc: Record<string, string> = {
        '/s': 'public, max-age=5, s-maxage=120',
        '/m': 'max-age=30',
        '/zero': 'max-age=0',
      }
      const value = cc[req.url ?? '']
      if (value !== undefined) res.setHeader('cache-control', value)
      res.end('x')
    })
    await send(base, '/s')
    expect((await send(base, '/s')).headers['cache-status']).toMatch(/ttl=(119|120)$/)
    await send(base, '/m')
    expect((await send(base, '/m')).headers['cache-status']).toMatch(/ttl=(29|30)$/)
    expect((await send(base, '/zero')).headers['cache-status']).toContain('detail=ttl')
    expect((await send(base, '/none')).headers['cache-status']).toContain('detail=ttl')
  })

  it('sets Cache-Control per route, sends the tags to the CDN header within its size guard, and drops pages by tag', async () => {
    const cache = await makeNode(redis.url)
    const page = counting()
    const many = Array.from({ length: 50 }, (_, i) => `product:${i}`)
    const base = await cachedNode(cache, page.handler, {
      ttl: '1m',
      cacheControl: { public: true, sMaxAge: '10m', maxAge: 0 },
      tags: (req) => [`page:${req.url}`, ...many],
      tagHeader: { name: 'Surrogate-Key', maxBytes: 100 },
    })
    const miss = await send(base, '/t')
    expect(miss.headers['cache-control']).toBe('public, max-age=0, s-maxage=600')
    const keys = String(miss.headers['surrogate-key'])
    expect(keys.startsWith('page:/t product:0 product:1')).toBe(true)
    expect(keys.length).toBeLessThanOrEqual(100)
    expect((await send(base, '/t')).headers['surrogate-key']).toBe(keys)
    await cache.invalidateTags(['product:7'])
    expect((await send(base, '/t')).cache).toBe('MISS')
    expect(page.renders()).toBe(2)
  })

  it('200 concurrent requests for a cold page: one render, every client gets its page', async () => {
    const cache = await makeNode(redis.url)
    const stampede = new Stampede(200)
    const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      await stampede.render()
      res.end('the one render')
    }
    const all = await stampede.run(await stampedeNode(cache, handler, { ttl: '1m' }, stampede), '/cold')
    expect(stampede.renders).toBe(1)
    expect(new Set(all.map((r) => r.text))).toEqual(new Set(['the one render']))
  })

  it('requests waiting on a render that sets a cookie never receive that cookie: each renders its own', async () => {
    const cache = await makeNode(redis.url)
    const stampede = new Stampede(20)
    const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const n = await stampede.render()
      res.setHeader('set-cookie', `sid=${n}`)
      res.end(`render ${n}`)
    }
    const base = await stampedeNode(cache, handler, { ttl: '1m' }, stampede)
    const all = await stampede.run(base, '/cookie')
    const cookies = all.map((r) => String(r.headers['set-cookie']))
    expect(new Set(cookies).size).toBe(20)
    for (const reply of all)
      expect(reply.text).toBe(`render ${/sid=(\d+)/.exec(String(reply.headers['set-cookie']))?.[1]}`)
    // Hit-for-miss: the next requests do not wait on a shared render.
    expect((await send(base, '/cookie')).headers['cache-status']).toContain('detail=hit-for-miss')
  })
})
