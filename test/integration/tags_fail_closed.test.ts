/**
 * Contract point "fail closed" for tags (ARCHITECTURE.md, "Tags"): when a tag's state cannot be established (its
 * Redis key was evicted or deleted, or holds garbage), the entries carrying it are misses, never possibly stale
 * values; garbage is also reported as a `decode:error` event. A tag key evicted after an invalidation and then
 * recreated by a new write does not bring back the entries the invalidation killed.
 */
import { describe, expect, it } from 'vitest'
import { makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const tagKey = (tag: string): string => `{tc:app}:tag:${tag}`

describe('tags fail closed', () => {
  it('a tagged write makes sure its tag key exists (so a missing one later means it was evicted)', async () => {
    const a = await makeNode(redis.url)
    await a.set('p1', 'lamp', { tags: ['products'] })
    expect(await redis.raw.exists(tagKey('products'))).toBe(1)
    await a.getOrSet('p2', () => 'desk', { tags: ['products', 'vendor:7'] })
    expect(await redis.raw.exists(tagKey('vendor:7'))).toBe(1)
  })

  it('an evicted (deleted) tag key makes its entries misses on every node, from Redis and after revalidating', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url, { l1: false })
    await a.set('p1', 'lamp', { tags: ['products'] })
    await a.set('u1', 'user', { tags: ['users'] })
    expect(await b.get('p1')).toBe('lamp')
    await redis.raw.del(tagKey('products')) // what allkeys-lru does to a cold tag key
    expect(await b.get('p1')).toBeUndefined()
    expect(await b.getMany(['p1', 'u1'])).toEqual([undefined, 'user'])
    // getOrSet treats it as a miss and writes a fresh value (recreating the tag key).
    expect(await b.getOrSet('p1', () => 'lamp v2', { tags: ['products'] })).toBe('lamp v2')
    expect(await b.get('p1')).toBe('lamp v2')
  })

  it('a tag key holding garbage is a miss plus a decode:error event', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url, { l1: false })
    await a.set('p1', 'lamp', { tags: ['products'] })
    await redis.raw.set(tagKey('products'), 'not a time')
    const event = nextEvent(b, 'decode:error')
    expect(await b.get('p1')).toBeUndefined()
    const { key, error } = await event
    expect(key).toBe('p1')
    expect(error.code).toBe('E_DECODE')
    expect(error.message).toContain('products')
  })

  it('a tag key holding a number no tag time can be (a stray digit) is garbage too, not a time near 1970', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url, { l1: false })
    await a.set('p2', 'desk', { tags: ['furniture'] })
    await a.invalidateTags(['furniture']) // p2 is invalidated...
    await redis.raw.set(tagKey('furniture'), '7') // ...and the tag key is spoiled into something that parses
    const event = nextEvent(b, 'decode:error')
    expect(await b.get('p2')).toBeUndefined()
    expect((await event).key).toBe('p2')
  })

  it('an entry invalidated before its tag key was evicted stays a miss when a new write recreates the key', async () => {
    const a = await makeNode(redis.url)
    const reader = await makeNode(redis.url, { l1: false })
    await a.set('old', 'stale', { tags: ['t'] })
    await a.invalidateTags(['t'])
    expect(await reader.get('old')).toBeUndefined()
    await redis.raw.del(tagKey('t')) // evicted
    await a.set('new', 'fresh', { tags: ['t'] }) // recreates the tag key, as of just before 'new' was made
    expect(await reader.get('new')).toBe('fresh')
    expect(await reader.get('old')).toBeUndefined()
  })

  it('under maxmemory with eviction, entries whose tag keys were evicted are never served invalidated', async () => {
    const a = await makeNode(redis.url, { l1: false })
    const tags = Array.from({ length: 200 }, (_, i) => `t${i}`)
    await a.setMany(tags.map((tag, i) => ({ key: `e${i}`, value: `v${i}`, tags: [tag] })))
    for (let i = 0; i < tags.length; i += 50) await a.invalidateTags(tags.slice(i, i + 50)) // every entry is stale now
    const used = Number(/used_memory:(\d+)/.exec(await redis.raw.info('memory'))?.[1])
    // allkeys-random rather than -lru: Redis's LRU clock ticks once a second, so in a test every key looks as old.
    await redis.raw.config('SET', 'maxmemory-policy', 'allkeys-random')
    await redis.raw.config('SET', 'maxmemory', String(used + 32 * 1024))
    try {
      // Fill until Redis has evicted 150 keys: used_memory above can include client buffers Redis frees later, so
      // a fixed amount of filler sometimes evicted nothing (seen once in CI). Bounded: 4,000 KB of filler at most.
      const evicted = async () => Number(/evicted_keys:(\d+)/.exec(await redis.raw.info('stats'))?.[1])
      const before = await evicted()
      const filler = 'x'.repeat(1024)
      for (let i = 0; i < 4000 && (i % 50 !== 0 || (await evicted()) - before < 150); i++)
        await redis.raw.set(`filler:${i}`, filler)
      expect((await evicted()) - before).toBeGreaterThanOrEqual(150)
      await redis.raw.config('SET', 'maxmemory', '0')
      // Entries that survived while their tag key did not: the case that failed open.
      const orphans: number[] = []
      for (let i = 0; i < tags.length; i++)
        if ((await redis.raw.exists(tagKey(`t${i}`))) === 0 && (await redis.raw.exists(`tc:app::e${i}`)) === 1)
          orphans.push(i)
      expect(orphans.length).toBeGreaterThan(0)
      for (const i of orphans) expect(await a.get(`e${i}`)).toBeUndefined()
    } finally {
      await redis.raw.config('SET', 'maxmemory', '0')
      await redis.raw.config('SET', 'maxmemory-policy', 'noeviction')
    }
  })
})
