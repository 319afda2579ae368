/**
 * Stale pages on a real node:http server with a real redis-server: grace (served when the re-render
 * throws, answers 5xx, takes longer than `timeout`, or runs on another server holding the lock) and
 * staleWhileRevalidate (served at once while one background request renders the page again). Pages
 * go stale by time (a 100 ms ttl): that wait is the only one; renders are held by deferred promises.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { deferred } from '../support/deferred.js'
import { send } from '../fixtures/http/client.js'
import { cachedNode, closeServers, elapse } from '../fixtures/http/servers.js'

const redis = useRedis()
afterEach(closeServers)

const TTL = 100

/** A handler whose first render answers `v1`; each later render runs `next(n, req, res)`. */
function versions(next: (n: number, req: IncomingMessage, res: ServerResponse) => void | Promise<void>): {
  renders: () => number
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>
} {
  let renders = 0
  return {
    renders: () => renders,
    handler: async (req, res) => {
      const n = ++renders
      if (n === 1) res.end('v1')
      else await next(n, req, res)
    },
  }
}

describe('grace and staleWhileRevalidate (node:http)', () => {
  it('grace: serves the stale page when the re-render throws or answers 5xx, and keeps it', async () => {
    const cache = await makeNode(redis.url)
    const page = versions((n, req, res) => {
      if (n === 2) throw new Error('database down')
      res.statusCode = 503
      res.end('unavailable')
    })
    const errors: unknown[] = []
    const base = await cachedNode(cache, page.handler, { ttl: TTL, grace: '1m', onError: (e) => errors.push(e) })
    expect((await send(base, '/g')).text).toBe('v1')
    await elapse(TTL + 50)
    const thrown = await send(base, '/g')
    expect([thrown.status, thrown.cache, thrown.text]).toEqual([200, 'STALE', 'v1'])
    expect(thrown.headers['cache-status']).toMatch(/^tiercache; fwd=stale; ttl=-\d+; detail=error$/)
    expect(errors).toEqual([expect.objectContaining({ message: 'database down' })])
    const unavailable = await send(base, '/g')
    expect([unavailable.status, unavailable.cache, unavailable.text]).toEqual([200, 'STALE', 'v1'])
    expect(unavailable.headers['cache-status']).toMatch(
      /^tiercache; fwd=stale; fwd-status=503; ttl=-\d+; detail=error$/,
    )
    expect(page.renders()).toBe(3)
  })

  it('grace without a stale page: a handler that throws answers 500, which is not stored', async () => {
    const cache = await makeNode(redis.url)
    let renders = 0
    const base = await cachedNode(
      cache,
      () => {
        renders++
        throw new Error('boom')
      },
      { ttl: TTL, grace: '1m', onError: () => undefined },
    )
    const first = await send(base, '/e')
    expect([first.status, first.cache, first.headers['cache-status']]).toEqual([
      500,
      'MISS',
      'tiercache; fwd=miss; fwd-status=500; detail=error',
    ])
    expect((await send(base, '/e')).status).toBe(500)
    expect(renders).toBe(2)
  })

  it('timeout: a re-render slower than `timeout` serves the stale page, then finishes and is stored', async () => {
    const cache = await makeNode(redis.url)
    const slow = deferred<void>()
    const page = versions(async (n, req, res) => {
      await slow.promise
      res.end(`v${n}`)
    })
    const base = await cachedNode(cache, page.handler, { ttl: TTL, grace: '1m', timeout: 50 })
    await send(base, '/t')
    await elapse(TTL + 50)
    const stale = await send(base, '/t')
    expect([stale.cache, stale.text]).toEqual(['STALE', 'v1'])
    expect(stale.headers['cache-status']).toMatch(/^tiercache; fwd=stale; ttl=-\d+; detail=timeout$/)
    const written = nextEvent(cache, 'written')
    slow.resolve()
    await written
    const fresh = await send(base, '/t')
    expect([fresh.cache, fresh.text]).toEqual(['HIT-L1', 'v2'])
  })

  it('staleWhileRevalidate: stale pages are served at once while one background request renders the page again', async () => {
    const cache = await makeNode(redis.url)
    const release = deferred<void>()
    const seen: IncomingMessage['headers'][] = []
    const page = versions(async (n, req, res) => {
      seen.push({ ...req.headers })
      await release.promise
      res.end(`v${n}`)
    })
    const base = await cachedNode(cache, page.handler, {
      ttl: TTL,
      staleWhileRevalidate: '1m',
      vary: ['accept-language'],
      cookies: ['locale'],
    })
    const headers = { 'accept-language': 'fr', cookie: 'locale=fr-FR', host: 'shop.example' }
    await send(base, '/s', { headers })
    await elapse(TTL + 50)
    const stale = await Promise.all(Array.from({ length: 10 }, () => send(base, '/s', { headers })))
    for (const reply of stale) {
      expect([reply.cache, reply.text]).toEqual(['STALE', 'v1'])
      expect(reply.headers['cache-status']).toMatch(/^tiercache; hit; ttl=-\d+; detail=stale-while-revalidate$/)
    }
    const written = nextEvent(cache, 'written')
    release.resolve()
    await written
    expect(page.renders()).toBe(2) // one background render for the ten stale answers
    const fresh = await send(base, '/s', { headers })
    expect([fresh.cache, fresh.text]).toEqual(['HIT-L1', 'v2'])
    // The background request replays what the key is made of, marked, and nothing else.
    expect(seen[0]).toMatchObject({
      host: 'shop.example',
      'accept-language': 'fr',
      cookie: 'locale=fr-FR',
      'accept-encoding': 'gzip',
      'x-tiercache-revalidation': expect.any(String),
    })
  })

  it('lock: while another server re-renders a page in grace, this one serves it stale at once', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url)
    const slow = deferred<void>()
    const rendering = deferred<void>()
    const page = versions(async (n, req, res) => {
      rendering.resolve()
      await slow.promise
      res.end(`v${n}`)
    })
    const options = { ttl: TTL, grace: '1m', lock: true } as const
    const baseA = await cachedNode(a, page.handler, options)
    const baseB = await cachedNode(b, page.handler, options)
    const headers = { host: 'shop.example' }
    await send(baseA, '/l', { headers })
    await elapse(TTL + 50)
    const onA = send(baseA, '/l', { headers })
    await rendering.promise // A holds the render lock
    const onB = await send(baseB, '/l', { headers })
    expect([onB.cache, onB.text]).toEqual(['STALE', 'v1'])
    expect(onB.headers['cache-status']).toMatch(/^tiercache; hit; ttl=-\d+; detail=lock-held$/)
    slow.resolve()
    const fresh = await onA
    expect([fresh.cache, fresh.text, fresh.headers['cache-status']]).toEqual([
      'MISS',
      'v2',
      'tiercache; fwd=stale; fwd-status=200; stored',
    ])
    expect(page.renders()).toBe(2)
  })

  it('a re-render that may no longer be stored replaces the stale page: the request renders on its own', async () => {
    const cache = await makeNode(redis.url)
    const page = versions((n, req, res) => {
      res.setHeader('cache-control', 'private')
      res.end(`private v${n}`)
    })
    const base = await cachedNode(cache, page.handler, { ttl: TTL, grace: '1m' })
    await send(base, '/p')
    await elapse(TTL + 50)
    const own = await send(base, '/p')
    expect([own.cache, own.text]).toEqual(['MISS', 'private v3'])
    expect(own.headers['cache-status']).toBe('tiercache; fwd=stale; fwd-status=200; detail=private')
    const next = await send(base, '/p')
    expect(next.headers['cache-status']).toContain('detail=hit-for-miss')
    expect(next.text).toBe('private v4')
  })
})
