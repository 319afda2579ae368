/** Contract point 9: misuse gets a TypeError naming the bad value, and nothing cached is touched. */
import { describe, expect, it } from 'vitest'
import { createCache, ValueTooLargeError } from '../../src/index.js'
import { makeCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis({ flush: false })

describe('bad calls change nothing', () => {
  it.each([
    ['an empty key', (c: ReturnType<typeof makeCache>) => c.set('', 1), /`key`.*""/],
    [
      'a non-string key',
      (c: ReturnType<typeof makeCache>) => c.set(42 as unknown as string, 1),
      /`key`.*`42` \(number\)/,
    ],
    [
      'a key over maxKeyBytes',
      (c: ReturnType<typeof makeCache>) => c.set('é'.repeat(600), 1),
      /maxKeyBytes.*1200 bytes/,
    ],
    ['a negative ttl', (c: ReturnType<typeof makeCache>) => c.set('k', 2, { ttl: -1 }), /`ttl`.*`-1` \(number\)/],
    ['an infinite ttl', (c: ReturnType<typeof makeCache>) => c.set('k', 2, { ttl: Infinity }), /`ttl`.*Infinity/],
    ['a NaN ttl', (c: ReturnType<typeof makeCache>) => c.set('k', 2, { ttl: NaN }), /`ttl`.*NaN/],
    [
      'a bad ttl string',
      (c: ReturnType<typeof makeCache>) => c.set('k', 2, { ttl: '10 minutes' as '10m' }),
      /`ttl`.*"10 minutes"/,
    ],
    ['a function value', (c: ReturnType<typeof makeCache>) => c.set('k', { f: () => 1 }), /function/],
    ['a symbol value', (c: ReturnType<typeof makeCache>) => c.set('k', { s: Symbol('x') }), /symbol/i],
    ['undefined', (c: ReturnType<typeof makeCache>) => c.set('k', undefined), /undefined/],
    ['bad tags', (c: ReturnType<typeof makeCache>) => c.set('k', 2, { tags: [''] }), /`tags`/],
    [
      'a non-function factory',
      (c: ReturnType<typeof makeCache>) => c.getOrSet('x', 5 as unknown as () => number),
      /`factory`/,
    ],
    ['a non-integer incr', (c: ReturnType<typeof makeCache>) => c.incr('n', 1.5), /`by`.*1\.5/],
  ])('%s → TypeError, the existing entry is untouched', async (_name, call, message) => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'bad' })
    await cache.set('k', 'original')
    await expect(call(cache)).rejects.toThrow(TypeError)
    await expect(call(cache)).rejects.toThrow(message)
    expect(await cache.get('k')).toBe('original')
    const fresh = makeCache({ redis: redis.server.url, namespace: 'bad', l1: false })
    expect(await fresh.get('k')).toBe('original')
  })

  it('a value over maxValueBytes → ValueTooLargeError (E_VALUE_TOO_LARGE), nothing written', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'big', maxValueBytes: 1000 })
    await cache.set('k', 'small')
    const error = await cache.set('k', 'x'.repeat(2000)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValueTooLargeError)
    expect(error).toMatchObject({ code: 'E_VALUE_TOO_LARGE', key: 'k', limit: 1000 })
    expect(await cache.get('k')).toBe('small')
    expect(await redis.raw.strlen('tc:big::k')).toBeLessThan(100)
  })
})

describe('bad options', () => {
  it.each([
    [{ ttl: 0 }, /`ttl`/],
    [{ namespace: 'has space' }, /`namespace`.*"has space"/],
    [{ l1: { maxEntries: 0 } }, /`l1.maxEntries`.*`0` \(number\)/],
    [{ l1: { maxBytes: -5 } }, /`l1.maxBytes`/],
    [{ redis: 'http://nope' }, /`redis`.*URL/],
    [{ redis: 'redis://127.0.0.1:1', l2: { onWriteError: 'ignore' as 'throw' } }, /`l2.onWriteError`.*"ignore"/],
    [{ codec: 'xml' as 'json' }, /`codec`.*"xml"/],
    [{ l1: false as const }, /at least one tier/],
    [{ l2: { timeout: 10 } }, /without `redis`/],
  ])('%o → TypeError', (options, message) => {
    expect(() => createCache(options)).toThrow(TypeError)
    expect(() => createCache(options)).toThrow(message)
  })
})
