/** Route options are validated when the middleware, route or wrapper is created. */
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { responseCache, withResponseCache } from '../../src/http/index.js'
import { resolveRoute } from '../../src/http/options.js'

describe('response cache options', () => {
  it('resolves defaults once', () => {
    const settings = resolveRoute(undefined)
    expect(settings).toMatchObject({
      ttl: undefined,
      query: 'all',
      maxBodyBytes: 1_048_576,
      lock: false,
      lockTimeout: 5000,
      hitForMiss: 30_000,
      statusHeaders: true,
      name: 'tiercache',
      timeout: 0,
    })
    expect([...settings.statuses]).toEqual([200, 203, 301, 308])
    expect(resolveRoute({ tagHeader: 'Cache-Tag' }).tagHeader).toEqual({
      name: 'cache-tag',
      separator: ',',
      maxBytes: 2048,
    })
    expect(resolveRoute({ tagHeader: 'Surrogate-Key' }).tagHeader?.separator).toBe(' ')
  })

  it('throws a TypeError naming the option and the value', () => {
    const cases: Array<[object, RegExp]> = [
      [{ ttl: 0 }, /`ttl`.*`0` \(number\)/],
      [{ query: 'some' }, /`query` to be 'all', 'none' or an array/],
      [{ vary: ['bad header'] }, /`vary`/],
      [{ maxBodyBytes: 0 }, /`maxBodyBytes`.*`0`/],
      [{ statuses: [500] }, /`statuses` to be an array of 204, 300, 404/],
      [{ lock: 'yes' }, /`lock` to be a boolean/],
      [{ grace: '1 week' }, /`grace`/],
      [{ tags: [''] }, /`tags`/],
      [{ tagHeader: { name: 'X-Tags', maxBytes: 0 } }, /`tagHeader.maxBytes`/],
      [{ cacheControl: { maxAge: -5 } }, /`cacheControl.maxAge`/],
      [{ name: 'my cache' }, /`name`/],
      [{ onError: 1 }, /`onError` to be a function/],
    ]
    for (const [options, message] of cases)
      expect(() => resolveRoute(options as never), JSON.stringify(options)).toThrow(message)
    expect(() => resolveRoute('1m' as never)).toThrow(/`options` to be an object/)
  })

  it('the adapters validate when created, before any request', async () => {
    const cache = createCache()
    expect(() => responseCache(cache, { ttl: -1 })).toThrow(TypeError)
    expect(() => withResponseCache(cache, 'handler' as never)).toThrow(/`handler` to be a function/)
    expect(() => withResponseCache(cache, () => undefined, { trustProxy: 1 as never })).toThrow(/`trustProxy`/)
    await cache.close()
  })
})
