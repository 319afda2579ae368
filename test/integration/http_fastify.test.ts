/**
 * The Fastify plugin on a real Fastify 5 server over real HTTP with a real redis-server: routes opt
 * in with `config.cache`, HEAD routes, 304s, @fastify/compress registered after the plugin (bodies
 * stored uncompressed, clients get them compressed), streamed payloads, what is never stored, one
 * render for 200 concurrent requests, background renders through `inject`, grace.
 */
import { Readable } from 'node:stream'
import { gunzipSync } from 'node:zlib'
import compress from '@fastify/compress'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { fastifyResponseCache } from '../../src/http/index.js'
import { makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { send } from '../fixtures/http/client.js'
import { elapse, Stampede } from '../fixtures/http/servers.js'

const redis = useRedis()
const apps: FastifyInstance[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

async function start(cache: Cache, routes: (app: FastifyInstance) => void, withCompress = false): Promise<string> {
  const app = Fastify()
  apps.push(app)
  await app.register(fastifyResponseCache, { cache, defaults: { ttl: '1m' } })
  if (withCompress) await app.register(compress, { threshold: 0 })
  routes(app)
  return app.listen({ port: 0, host: '127.0.0.1' })
}

describe('fastifyResponseCache (Fastify)', () => {
  let renders = 0
  afterEach(() => void (renders = 0))

  it('caches routes with config.cache (MISS, HIT-L1, HEAD, 304) and leaves the others alone', async () => {
    const cache = await makeNode(redis.url)
    const base = await start(cache, (app) => {
      app.get<{ Params: { id: string } }>('/p/:id', { config: { cache: true } }, async (request, reply) => {
        renders++
        return reply.type('text/html').send(`<p>${request.params.id} #${renders}</p>`)
      })
      app.get('/plain', async () => `plain ${++renders}`)
    })
    const miss = await send(base, '/p/1')
    expect([miss.cache, miss.text, miss.headers['cache-status']]).toEqual([
      'MISS',
      '<p>1 #1</p>',
      'tiercache; fwd=miss; fwd-status=200; stored',
    ])
    const hit = await send(base, '/p/1')
    expect([hit.cache, hit.text, hit.headers['content-type']]).toEqual(['HIT-L1', '<p>1 #1</p>', 'text/html'])
    const head = await send(base, '/p/1', { method: 'HEAD' })
    expect([head.status, head.cache, head.body.length, head.headers['content-length']]).toEqual([
      200,
      'HIT-L1',
      0,
      '11',
    ])
    const conditional = await send(base, '/p/1', { headers: { 'if-none-match': String(miss.headers.etag) } })
    expect([conditional.status, conditional.body.length]).toEqual([304, 0])
    // A HEAD miss renders the GET handler and stores the entry GET is served from.
    expect((await send(base, '/p/2', { method: 'HEAD' })).cache).toBe('MISS')
    expect((await send(base, '/p/2')).cache).toBe('HIT-L1')
    const plain = await send(base, '/plain')
    expect([plain.cache, plain.headers['cache-status']]).toEqual([undefined, undefined])
    expect(renders).toBe(3)
  })

  it('stores the body before @fastify/compress: one uncompressed copy, compressed for clients that accept it', async () => {
    const cache = await makeNode(redis.url)
    const text = 'a compressible line\n'.repeat(100)
    const base = await start(
      cache,
      (app) =>
        app.get('/z', { config: { cache: true } }, async (request, reply) => {
          renders++
          return reply.type('text/plain').send(text)
        }),
      true,
    )
    const gzip = await send(base, '/z', { headers: { 'accept-encoding': 'gzip' } })
    expect([gzip.cache, gzip.headers['content-encoding']]).toEqual(['MISS', 'gzip'])
    expect(gunzipSync(gzip.body).toString()).toBe(text)
    const identity = await send(base, '/z', { headers: { 'accept-encoding': 'identity' } })
    expect([identity.cache, identity.headers['content-encoding'], identity.text]).toEqual(['HIT-L1', undefined, text])
    const gzipHit = await send(base, '/z', { headers: { 'accept-encoding': 'gzip' } })
    expect([gzipHit.cache, gunzipSync(gzipHit.body).toString()]).toEqual(['HIT-L1', text])
    expect(renders).toBe(1)
  })

  it('does not store Set-Cookie, private or errors, bypasses Authorization, and keeps a streamed body under the limit', async () => {
    const cache = await makeNode(redis.url)
    const base = await start(cache, (app) => {
      const config = { cache: { hitForMiss: 0 } }
      app.get('/cookie', { config }, async (request, reply) => reply.header('set-cookie', `sid=${++renders}`).send('c'))
      app.get('/private', { config }, async (request, reply) => reply.header('cache-control', 'private').send('p'))
      app.get('/throws', { config }, async () => {
        renders++
        throw new Error('render failed')
      })
      app.get('/stream', { config: { cache: { maxBodyBytes: 100 } } }, async (request, reply) => {
        renders++
        const size = request.query && (request.query as { size?: string }).size
        return reply.type('text/plain').send(Readable.from([Buffer.alloc(Number(size), 'y')]))
      })
    })
    for (const path of ['/cookie', '/private', '/throws']) {
      const first = await send(base, path)
      expect([first.cache, (await send(base, path)).cache], path).toEqual(['MISS', 'MISS'])
    }
    const failed = await send(base, '/throws')
    expect([failed.status, failed.headers['cache-status']]).toEqual([
      500,
      'tiercache; fwd=miss; fwd-status=500; detail=error',
    ])
    expect((await send(base, '/cookie', { headers: { authorization: 'Bearer t' } })).cache).toBe('BYPASS')

    // A stream is stored once it has gone through: its client may have it before the write lands.
    const stored = nextEvent(cache, 'written')
    const small = await send(base, '/stream?size=50')
    expect([small.cache, small.body.length]).toEqual(['MISS', 50])
    await stored
    const smallHit = await send(base, '/stream?size=50')
    expect([smallHit.cache, smallHit.body.length]).toEqual(['HIT-L1', 50])
    const large = await send(base, '/stream?size=500')
    expect(large.body.length).toBe(500)
    expect((await send(base, '/stream?size=500')).cache).toBe('MISS')
  })

  it('200 concurrent requests for a cold page: one render', async () => {
    const cache = await makeNode(redis.url)
    const stampede = new Stampede(200)
    const base = await start(cache, (app) => {
      app.addHook('onRequest', async () => stampede.arrive())
      app.get('/cold', { config: { cache: true } }, async () => {
        await stampede.render()
        return 'rendered once'
      })
    })
    const all = await stampede.run(base, '/cold')
    expect(stampede.renders).toBe(1)
    expect(new Set(all.map((r) => `${r.status} ${r.text}`))).toEqual(new Set(['200 rendered once']))
  })

  it('renders stale pages again through inject (staleWhileRevalidate) and serves stale when the render throws (grace)', async () => {
    const cache = await makeNode(redis.url)
    let fail = false
    const base = await start(cache, (app) => {
      app.get('/s', { config: { cache: { ttl: 100, staleWhileRevalidate: '1m' } } }, async (request) => {
        renders++
        return `v${renders} ${request.headers['x-tiercache-revalidation'] === undefined ? 'live' : 'background'}`
      })
      app.get('/g', { config: { cache: { ttl: 100, grace: '1m' } } }, async () => {
        renders++
        if (fail) throw new Error('down')
        return 'good'
      })
    })
    expect((await send(base, '/s')).text).toBe('v1 live')
    await send(base, '/g')
    await elapse(150)
    const written = nextEvent(cache, 'written')
    const stale = await send(base, '/s')
    expect([stale.cache, stale.text]).toEqual(['STALE', 'v1 live'])
    await written
    expect((await send(base, '/s')).text).toBe('v3 background')
    fail = true
    const graced = await send(base, '/g')
    expect([graced.status, graced.cache, graced.text]).toEqual([200, 'STALE', 'good'])
    expect(graced.headers['cache-status']).toMatch(/^tiercache; fwd=stale; fwd-status=500; ttl=-\d+; detail=error$/)
  })
})
