import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createCache, FactoryError, FactoryHardTimeoutError, type Cache, type CacheEvents } from '../../src/index.js'
import { deferred } from '../support/deferred.js'
import { internals } from '../support/make_cache.js'

// L1-only caches: the factory runner's logic, with fake timers (Date included) and factories
// the test settles itself. The same paths against a real Redis are in test/integration.
let cache: Cache
beforeEach(() => {
  // performance too: lru-cache measures L1 TTLs with performance.now().
  vi.useFakeTimers({
    now: 1_000_000,
    toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date', 'performance'],
  })
  cache = createCache() // L1 only (no redis)
})
afterEach(async () => {
  vi.useRealTimers()
  await cache.close()
})

function events<K extends keyof CacheEvents>(name: K): Array<CacheEvents[K]> {
  const seen: Array<CacheEvents[K]> = []
  cache.on(name, (payload) => seen.push(payload))
  return seen
}

describe('getOrSet options', () => {
  it('runs the factory once for 1,000 concurrent calls on a cold key', async () => {
    const gate = deferred<string>()
    const factory = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 1000 }, () => cache.getOrSet('cold', factory))
    gate.resolve('v')
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']))
    expect(factory).toHaveBeenCalledTimes(1)
  })

  it('rejects with FactoryError carrying the cause, and caches nothing', async () => {
    const boom = new Error('db down')
    const error = await cache.getOrSet('k', () => Promise.reject(boom)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FactoryError)
    expect((error as FactoryError).code).toBe('E_FACTORY')
    expect((error as FactoryError).cause).toBe(boom)
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok')
  })

  // lru-cache reads performance.now() through a reference taken at import, which fake timers
  // cannot reach: L1 lifetimes are checked with remainingTtl instead of by moving the clock.
  it('caches null for nullTtl, and not at all with nullTtl: false', async () => {
    expect(await cache.getOrSet('n', () => null, { ttl: '1h', nullTtl: 1000 })).toBeNull()
    expect(await cache.get('n')).toBeNull()
    expect(internals(cache).l1?.remainingTtl('n')).toBeGreaterThan(900)
    expect(internals(cache).l1?.remainingTtl('n')).toBeLessThanOrEqual(1000)
    expect(await cache.getOrSet('v', () => 'value', { ttl: '1h', nullTtl: 1000 })).toBe('value')
    expect(internals(cache).l1?.remainingTtl('v')).toBeGreaterThan(3_000_000)
    expect(await cache.getOrSet('m', () => null, { nullTtl: false })).toBeNull()
    expect(await cache.get('m')).toBeUndefined()
  })

  it('caches only what shouldCache accepts', async () => {
    const options = { shouldCache: (value: { ok: boolean }) => value.ok }
    await cache.getOrSet('a', () => ({ ok: false }), options)
    expect(await cache.get('a')).toBeUndefined()
    await cache.getOrSet('a', () => ({ ok: true }), options)
    expect(await cache.get('a')).toEqual({ ok: true })
  })

  it('shortens the TTL by at most the jitter fraction', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5)
    await cache.getOrSet('j', () => 1, { ttl: 10_000, jitter: 0.2 })
    random.mockRestore()
    expect(internals(cache).l1?.get('j')?.expiresAt).toBe(Date.now() + 9_000)
    expect(internals(cache).l1?.remainingTtl('j')).toBeLessThanOrEqual(9_000)
    expect(internals(cache).l1?.remainingTtl('j')).toBeGreaterThan(8_900)
  })

  it('refuses bad options with a TypeError naming the value, before running the factory', async () => {
    const factory = vi.fn(() => 1)
    await expect(cache.getOrSet('x', factory, { jitter: 2 })).rejects.toThrow(/`jitter`.*`2` \(number\)/)
    await expect(cache.getOrSet('x', factory, { refreshAhead: 1 })).rejects.toThrow(/`refreshAhead`/)
    await expect(cache.getOrSet('x', factory, { grace: 'soon' as never })).rejects.toThrow(/`grace`.*"soon"/)
    await expect(cache.getOrSet('x', factory, { shouldCache: true as never })).rejects.toThrow(/`shouldCache`/)
    expect(factory).not.toHaveBeenCalled()
  })
})

describe('grace', () => {
  it('serves the stale value when the factory fails within grace; plain get treats it as a miss', async () => {
    const served = events('stale:served')
    await cache.getOrSet('g', () => 'old', { ttl: 1000, grace: '1m' })
    vi.setSystemTime(Date.now() + 5000)
    expect(await cache.get('g')).toBeUndefined()
    const value = await cache.getOrSet('g', () => Promise.reject(new Error('down')), { ttl: 1000, grace: '1m' })
    expect(value).toBe('old')
    expect(served).toMatchObject([{ key: 'g', reason: 'factory-error', error: { code: 'E_FACTORY' } }])
  })

  it('replaces the stale value once the factory succeeds', async () => {
    await cache.getOrSet('g', () => 'old', { ttl: 1000, grace: '1m' })
    vi.setSystemTime(Date.now() + 5000)
    expect(await cache.getOrSet('g', () => 'new', { ttl: 1000, grace: '1m' })).toBe('new')
    expect(await cache.get('g')).toBe('new')
  })

  it('keeps the entry in L1 for ttl + grace, with its logical expiry', async () => {
    await cache.getOrSet('g', () => 'old', { ttl: 1000, grace: 2000 })
    expect(internals(cache).l1?.get('g')).toMatchObject({ expiresAt: Date.now() + 1000, reviewAt: Date.now() + 1000 })
    expect(internals(cache).l1?.remainingTtl('g')).toBeGreaterThan(2900)
    expect(internals(cache).l1?.remainingTtl('g')).toBeLessThanOrEqual(3000)
  })
})

describe('timeouts', () => {
  it('softTimeout returns the stale value and caches the late result when it arrives', async () => {
    await cache.getOrSet('s', () => 'old', { ttl: 1000, grace: '1m' })
    vi.setSystemTime(Date.now() + 2000)
    const late = deferred<string>()
    const options = { ttl: 1000, grace: '1m', softTimeout: 100 } as const
    const pending = cache.getOrSet('s', () => late.promise, options)
    await vi.advanceTimersByTimeAsync(100)
    expect(await pending).toBe('old')
    // While the first run goes on, callers get the stale value instead of starting another.
    const second = vi.fn(() => 'second')
    expect(await cache.getOrSet('s', second, options)).toBe('old')
    expect(second).not.toHaveBeenCalled()
    late.resolve('fresh')
    await vi.waitFor(async () => expect(await cache.get('s')).toBe('fresh'))
  })

  it('softTimeout without a stale value waits for the factory', async () => {
    const slow = deferred<string>()
    const pending = cache.getOrSet('s', () => slow.promise, { softTimeout: 10 })
    await vi.advanceTimersByTimeAsync(1000)
    slow.resolve('v')
    expect(await pending).toBe('v')
  })

  it('hardTimeout rejects with a coded error; the factory goes on and its result is cached', async () => {
    const slow = deferred<string>()
    const pending = cache.getOrSet('h', () => slow.promise, { hardTimeout: 500 }).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(500)
    const error = await pending
    expect(error).toBeInstanceOf(FactoryHardTimeoutError)
    expect((error as FactoryHardTimeoutError).code).toBe('E_FACTORY_HARD_TIMEOUT')
    slow.resolve('late')
    await vi.waitFor(async () => expect(await cache.get('h')).toBe('late'))
  })

  it('a background run that fails after a timeout becomes a refresh:error event, not an unhandled rejection', async () => {
    const failures = events('refresh:error')
    const slow = deferred<string>()
    const pending = cache.getOrSet('h', () => slow.promise, { hardTimeout: 50 }).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(50)
    expect(await pending).toBeInstanceOf(FactoryHardTimeoutError)
    slow.reject(new Error('late failure'))
    await vi.waitFor(() => expect(failures).toHaveLength(1))
    expect(failures[0]?.error).toBeInstanceOf(FactoryError)
    expect((failures[0]?.error.cause as Error).message).toBe('late failure')
  })

  it('hardTimeout with a stale value in grace returns it', async () => {
    await cache.getOrSet('h', () => 'old', { ttl: 1000, grace: '1m' })
    vi.setSystemTime(Date.now() + 2000)
    const pending = cache.getOrSet('h', () => new Promise<string>(() => undefined), {
      ttl: 1000,
      grace: '1m',
      hardTimeout: 200,
    })
    await vi.advanceTimersByTimeAsync(200)
    expect(await pending).toBe('old')
  })
})

describe('refreshAhead', () => {
  it('returns the cached value and refreshes once in the background after the fraction has passed', async () => {
    const options = { ttl: 10_000, refreshAhead: 0.8 }
    await cache.getOrSet('r', () => 'v1', options)
    vi.setSystemTime(Date.now() + 7_000)
    const early = vi.fn(() => 'never')
    expect(await cache.getOrSet('r', early, options)).toBe('v1')
    expect(early).not.toHaveBeenCalled()

    vi.setSystemTime(Date.now() + 1_500) // 85% of the TTL
    const next = deferred<string>()
    const refresh = vi.fn(() => next.promise)
    expect(await cache.getOrSet('r', refresh, options)).toBe('v1')
    expect(await cache.getOrSet('r', refresh, options)).toBe('v1')
    expect(refresh).toHaveBeenCalledTimes(1)
    next.resolve('v2')
    await vi.waitFor(async () => expect(await cache.get('r')).toBe('v2'))
    expect(await cache.getOrSet('r', refresh, options)).toBe('v2')
    expect(refresh).toHaveBeenCalledTimes(1)
  })

  it('reports a failed background refresh as an event and keeps serving the value', async () => {
    const failures = events('refresh:error')
    await cache.getOrSet('r', () => 'v1', { ttl: 10_000, refreshAhead: 0.5 })
    vi.setSystemTime(Date.now() + 6_000)
    expect(await cache.getOrSet('r', () => Promise.reject(new Error('nope')), { ttl: 10_000, refreshAhead: 0.5 })).toBe(
      'v1',
    )
    await vi.waitFor(() => expect(failures).toHaveLength(1))
    expect(failures[0]).toMatchObject({ key: 'r', error: { code: 'E_FACTORY' } })
    expect(await cache.get('r')).toBe('v1')
  })
})

describe('tags', () => {
  it('computes tags from the result', async () => {
    const tags = vi.fn((value: { id: number }) => [`user:${value.id}`])
    await cache.getOrSet('t', () => ({ id: 7 }), { tags })
    expect(tags).toHaveBeenCalledWith({ id: 7 })
    expect(internals(cache).l1?.get('t')?.tags).toEqual(['user:7'])
  })
})
