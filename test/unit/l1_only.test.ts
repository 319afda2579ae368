/** The cache with no Redis at all: L1 alone, bounded by entries and by encoded bytes. */
import { describe, expect, it } from 'vitest'
import { createCache, NotACounterError } from '../../src/index.js'
import { internals } from '../support/make_cache.js'

describe('L1-only cache', () => {
  it('get / set / has / delete / getOrSet', async () => {
    const cache = createCache()
    await cache.set('a', { n: 1 })
    expect(await cache.get('a')).toEqual({ n: 1 })
    expect(await cache.has('a')).toBe(true)
    expect(await cache.getOrSet('b', () => 2)).toBe(2)
    expect(await cache.getOrSet('b', () => 3)).toBe(2)
    expect(await cache.delete('a')).toBe(true)
    expect(await cache.delete('a')).toBe(false)
    expect(cache.stats().l2).toBeNull()
    expect(await cache.health()).toEqual({
      status: 'ok',
      ok: true,
      l1: { entries: 1, bytes: expect.any(Number), maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, evictions: 0 },
      l2: null,
      bus: null,
    })
  })

  it('evicts the least recently used entry past maxEntries', async () => {
    const cache = createCache({ l1: { maxEntries: 2 } })
    await cache.set('a', 1)
    await cache.set('b', 2)
    await cache.get('a')
    await cache.set('c', 3)
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, undefined, 3])
    expect(cache.stats().l1?.evictions).toBe(1)
  })

  it('bounds L1 by encoded bytes', async () => {
    const cache = createCache({ l1: { maxBytes: 1000 } })
    for (let i = 0; i < 10; i++) await cache.set(`k${i}`, 'x'.repeat(200))
    const { l1 } = cache.stats()
    expect(l1?.bytes).toBeLessThanOrEqual(1000)
    expect(l1?.entries).toBeLessThan(10)
    expect(await cache.get('k9')).toBe('x'.repeat(200))
  })

  it('expires entries after their ttl', async () => {
    const cache = createCache()
    await cache.set('k', 1, { ttl: 20 })
    expect(internals(cache).l1?.remainingTtl('k')).toBeLessThanOrEqual(20)
    expect(await cache.expire('k', '1h')).toBe(true)
    expect(internals(cache).l1?.remainingTtl('k')).toBeGreaterThan(20)
    expect(await cache.expire('missing', '1h')).toBe(false)
  })

  it('counters work in-process', async () => {
    const cache = createCache()
    expect(await cache.incr('n')).toBe(1)
    expect(await cache.incr('n', 4)).toBe(5)
    expect(await cache.decr('n')).toBe(4)
    await cache.set('s', 'text')
    await expect(cache.incr('s')).rejects.toBeInstanceOf(NotACounterError)
  })

  it('clear empties this namespace only', async () => {
    const root = createCache({ namespace: 'app' })
    const child = root.namespace('child')
    await root.set('k', 1)
    await child.set('k', 2)
    await root.clear()
    expect(await root.get('k')).toBeUndefined()
    expect(await child.get('k')).toBe(2)
  })

  it('emits hit and miss events only to listeners, with the layer', async () => {
    const cache = createCache()
    const seen: string[] = []
    cache.on('hit', (e) => seen.push(`hit:${e.layer}:${e.key}`))
    cache.on('miss', (e) => seen.push(`miss:${e.key}`))
    await cache.set('k', 1)
    await cache.get('k')
    await cache.get('nope')
    expect(seen).toEqual(['hit:l1:k', 'miss:nope'])
  })
})
