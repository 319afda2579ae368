/**
 * responseCache on a real Express 5 app over real HTTP with a real redis-server: per route and app
 * wide, Express's own ETag and error handling, headers of earlier middleware, HEAD, 304, what is never
 * stored, large bodies, one render for 200 concurrent requests, and background renders through the
 * root app of a mounted router.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { responseCache } from '../../src/http/index.js'
import { makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { listen, send } from '../fixtures/http/client.js'
import { closeServers, elapse, Stampede, track } from '../fixtures/http/servers.js'

const redis = useRedis()
afterEach(closeServers)

async function start(app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1')
  track(server)
  await new Promise((resolve) => server.once('listening', resolve))
  const address = server.address()
  return typeof address === 'object' && address !== null ? `http://127.0.0.1:${address.port}` : listen(server)
}

function app(configure: (app: Express) => void): Express {
  const created = express()
  configure(created)
  // Express's default error handler would log the stack; answer 500 quietly instead.
  created.use((error: Error, req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`failed: ${error.message}`)
  })
  return created
}

describe('responseCache (Express)', () => {
  let cache: Cache
  let renders = 0
  const page = (req: Request, res: Response): void => {
    renders++
    res.type('html').send(`<h1>${req.params.id ?? req.path} #${renders}</h1>`)
  }
  afterEach(() => void (renders = 0))

  it('answers MISS then HIT-L1 with Express’s own ETag, HEAD from the GET entry, and 304s', async () => {
    cache = await makeNode(redis.url)
    const base = await start(app((a) => a.get('/p/:id', responseCache(cache, { ttl: '1m' }), page)))
    const miss = await send(base, '/p/1')
    expect([miss.status, miss.cache, miss.text]).toEqual([200, 'MISS', '<h1>1 #1</h1>'])
    expect(miss.headers.etag).toMatch(/^W\/"/)
    const hit = await send(base, '/p/1')
    expect([hit.cache, hit.text, hit.headers.etag]).toEqual(['HIT-L1', '<h1>1 #1</h1>', miss.headers.etag])
    expect(hit.headers['content-type']).toBe('text/html; charset=utf-8')
    const head = await send(base, '/p/1', { method: 'HEAD' })
    expect([head.cache, head.body.length, head.headers['content-length']]).toEqual(['HIT-L1', 0, '13'])
    const notModified = await send(base, '/p/1', { headers: { 'if-none-match': String(miss.headers.etag) } })
    expect([notModified.status, notModified.body.length]).toEqual([304, 0])
    expect(renders).toBe(1)
  })

  it('works app-wide; headers earlier middleware sets per request are its own on a hit', async () => {
    cache = await makeNode(redis.url)
    let requestId = 0
    const base = await start(
      app((a) => {
        a.use((req, res, next) => {
          res.setHeader('x-request-id', String(++requestId))
          next()
        })
        a.use(responseCache(cache, { ttl: '1m' }))
        a.get('/w', page)
        a.post('/w', page)
      }),
    )
    expect((await send(base, '/w')).headers['x-request-id']).toBe('1')
    const hit = await send(base, '/w')
    expect([hit.cache, hit.headers['x-request-id']]).toEqual(['HIT-L1', '2'])
    const post = await send(base, '/w', { method: 'POST' })
    expect([post.cache, post.headers['cache-status']]).toEqual(['BYPASS', 'tiercache; fwd=method'])
  })

  it('does not store res.cookie(), private or errors, and bypasses Authorization and Cookie', async () => {
    cache = await makeNode(redis.url)
    const base = await start(
      app((a) => {
        const cached = responseCache(cache, { ttl: '1m', hitForMiss: 0 })
        a.get('/cookie', cached, (req, res) => res.cookie('sid', String(++renders)).send('cookie'))
        a.get('/private', cached, (req, res) => res.set('cache-control', 'private').send(`private ${++renders}`))
        a.get('/throws', cached, () => {
          renders++
          throw new Error('render failed')
        })
        a.get('/ok', cached, page)
      }),
    )
    for (const path of ['/cookie', '/private', '/throws']) {
      const first = await send(base, path)
      const second = await send(base, path)
      expect([first.cache, second.cache], path).toEqual(['MISS', 'MISS'])
    }
    const failed = await send(base, '/throws')
    expect([failed.status, failed.text, failed.headers['cache-status']]).toEqual([
      500,
      'failed: render failed',
      'tiercache; fwd=miss; fwd-status=500; detail=error',
    ])
    expect((await send(base, '/ok', { headers: { authorization: 'Basic eA==' } })).cache).toBe('BYPASS')
    expect((await send(base, '/ok', { headers: { cookie: 'sid=1' } })).cache).toBe('BYPASS')
    expect(renders).toBe(9)
  })

  it('streams a body over maxBodyBytes and does not keep it', async () => {
    cache = await makeNode(redis.url)
    const base = await start(
      app((a) =>
        a.get('/big', responseCache(cache, { ttl: '1m', maxBodyBytes: 1024 }), (req, res) => {
          renders++
          res.type('text')
          for (let i = 0; i < 4; i++) res.write('x'.repeat(512))
          res.end()
        }),
      ),
    )
    const first = await send(base, '/big')
    expect([first.body.length, first.headers['cache-status']]).toEqual([
      2048,
      'tiercache; fwd=miss; fwd-status=200; detail=size',
    ])
    expect((await send(base, '/big')).cache).toBe('MISS')
    expect(renders).toBe(2)
  })

  it('200 concurrent requests for a cold page: one render', async () => {
    cache = await makeNode(redis.url)
    const stampede = new Stampede(200)
    const base = await start(
      app((a) => {
        a.use((req, res, next) => (stampede.arrive(), next()))
        a.get('/cold', responseCache(cache, { ttl: '1m' }), async (req, res) => {
          await stampede.render()
          res.send('rendered once')
        })
      }),
    )
    const all = await stampede.run(base, '/cold')
    expect(stampede.renders).toBe(1)
    expect(new Set(all.map((r) => `${r.status} ${r.text}`))).toEqual(new Set(['200 rendered once']))
  })

  it('renders stale pages again in the background through the root app of a mounted router; grace covers a throw', async () => {
    cache = await makeNode(redis.url)
    let fail = false
    const router = express.Router()
    router.get('/item/:id', responseCache(cache, { ttl: 100, staleWhileRevalidate: '1m' }), (req, res) => {
      renders++
      if (fail) throw new Error('down')
      res.send(
        `item ${req.params.id} v${renders} ${req.get('x-tiercache-revalidation') === undefined ? 'live' : 'background'}`,
      )
    })
    const base = await start(app((a) => a.use('/shop', router)))
    expect((await send(base, '/shop/item/7')).text).toBe('item 7 v1 live')
    await elapse(150)
    const written = nextEvent(cache, 'written')
    const stale = await send(base, '/shop/item/7')
    expect([stale.cache, stale.text]).toEqual(['STALE', 'item 7 v1 live'])
    await written
    expect((await send(base, '/shop/item/7')).text).toBe('item 7 v2 background')

    const graceBase = await start(
      app((a) =>
        a.get('/g', responseCache(cache.namespace('grace'), { ttl: 100, grace: '1m' }), (req, res) => {
          renders++
          if (fail) throw new Error('down')
          res.send('good')
        }),
      ),
    )
    await send(graceBase, '/g')
    await elapse(150)
    fail = true
    const graced = await send(graceBase, '/g')
    expect([graced.status, graced.cache, graced.text]).toEqual([200, 'STALE', 'good'])
    expect(graced.headers['cache-status']).toMatch(/^tiercache; fwd=stale; fwd-status=500; ttl=-\d+; detail=error$/)
  })
})
