/** The small defects a new user hits (issue 13): each is a clear error at once, never a silent success. */
import { describe, expect, it } from 'vitest'
import { CacheClosedError, createCache } from '../../src/index.js'
import { makeCache } from '../support/make_cache.js'

describe('a closed cache without Redis refuses like one with Redis', () => {
  it.each([
    ['get', (c: ReturnType<typeof makeCache>) => c.get('k')],
    ['getMany', (c: ReturnType<typeof makeCache>) => c.getMany(['k'])],
    ['getOrSet', (c: ReturnType<typeof makeCache>) => c.getOrSet('k', () => 1)],
    ['set', (c: ReturnType<typeof makeCache>) => c.set('k', 1)],
    ['setMany', (c: ReturnType<typeof makeCache>) => c.setMany([{ key: 'k', value: 1 }])],
    ['delete', (c: ReturnType<typeof makeCache>) => c.delete('k')],
    ['expire', (c: ReturnType<typeof makeCache>) => c.expire('k', '1m')],
    ['incr', (c: ReturnType<typeof makeCache>) => c.incr('n')],
    ['clear', (c: ReturnType<typeof makeCache>) => c.clear()],
    ['invalidateTags', (c: ReturnType<typeof makeCache>) => c.invalidateTags(['t'])],
  ])('%s rejects with CacheClosedError', async (_name, call) => {
    const cache = makeCache()
    await cache.set('k', 1)
    await cache.close()
    await expect(call(cache)).rejects.toBeInstanceOf(CacheClosedError)
  })
})

describe('getOrSet without a factory', () => {
  it('throws a TypeError even when the key is in L1', async () => {
    const cache = makeCache()
    await cache.set('k', 1)
    await expect(cache.getOrSet('k', undefined as never)).rejects.toThrow(/Expected `factory` to be a function/)
  })
})

describe('unknown option names', () => {
  it.each([
    [{ ttL: '1m' }, /Unknown option `ttL` \(did you mean `ttl`\?\)/],
    [{ l1: { max: 5 } }, /Unknown option `l1\.max` \(did you mean `l1\.maxBytes`\?\)|`l1\.maxEntries`/],
    [{ l1: { maxEntrys: 5 } }, /Unknown option `l1\.maxEntrys` \(did you mean `l1\.maxEntries`\?\)/],
    [{ namespce: 'x' }, /did you mean `namespace`/],
    [{ l2: false, bus: false, codecs: 'json' }, /Unknown option `codecs` \(did you mean `codec`\?\)/],
  ])('createCache(%j) throws naming it and the closest known one', (options, message) => {
    expect(() => createCache(options as never)).toThrow(TypeError)
    expect(() => createCache(options as never)).toThrow(message)
  })

  it('per call too: set, getOrSet, incr', async () => {
    const cache = makeCache()
    await expect(cache.set('k', 1, { tll: '1m' } as never)).rejects.toThrow(
      /Unknown option `tll` \(did you mean `ttl`\?\)/,
    )
    await expect(cache.getOrSet('k2', () => 1, { grase: '1m' } as never)).rejects.toThrow(/did you mean `grace`/)
    await expect(cache.incr('n', 1, { ttls: 5 } as never)).rejects.toThrow(/did you mean `ttl`/)
    await expect(cache.setMany([{ key: 'a', value: 1, tag: ['x'] } as never])).rejects.toThrow(/did you mean `tags`/)
    expect(await cache.get('k')).toBeUndefined() // nothing was written
  })
})

describe('keys and tags that are not well-formed UTF-16', () => {
  const lone = 'a\uD800' // Redis would store it as "a\uFFFD", the same key as "a\uDBFF"
  it.each([
    ['get', (c: ReturnType<typeof makeCache>) => c.get(lone)],
    ['getMany', (c: ReturnType<typeof makeCache>) => c.getMany(['ok', lone])],
    ['getOrSet', (c: ReturnType<typeof makeCache>) => c.getOrSet(lone, () => 1)],
    ['set', (c: ReturnType<typeof makeCache>) => c.set(lone, 1)],
    ['delete', (c: ReturnType<typeof makeCache>) => c.delete(lone)],
    ['incr', (c: ReturnType<typeof makeCache>) => c.incr(lone)],
    ['a tag of set', (c: ReturnType<typeof makeCache>) => c.set('k', 1, { tags: [lone] })],
    ['invalidateTags', (c: ReturnType<typeof makeCache>) => c.invalidateTags([lone])],
  ])('%s is a TypeError that says why, and nothing is written', async (_name, call) => {
    const cache = makeCache()
    await expect(call(cache)).rejects.toThrow(/well-formed UTF-16 \(it holds a lone surrogate/)
    expect(await cache.has('k')).toBe(false)
    expect(await cache.set('a\uD83D\uDE00', 1)).toBeUndefined() // a surrogate pair is fine
  })
})
