import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCache, type Cache } from '../../src/index.js'
import { decodeEntry } from '../../src/codec/envelope.js'
import { msgpackCodec } from '../../src/codec/codec.js'
import { deferred } from '../support/deferred.js'
import { RedisServer } from '../support/redis_server.js'

// getOrSet's options against a real redis-server: what Redis keeps (physical TTL = ttl + grace,
// logical expiry in the envelope), stale values found in L2 by another node, and refresh ahead
// of an entry promoted from L2.
describe('getOrSet with Redis', () => {
  let server: RedisServer
  let redis: Redis
  const caches: Cache[] = []
  /** A cache whose bus is up (its first subscription drops L1 and fences fills in flight). */
  const make = async (namespace: string): Promise<Cache> => {
    const cache = createCache({ redis: server.url, namespace })
    caches.push(cache)
    await cache.ready()
    return cache
  }
  beforeAll(async () => {
    server = await RedisServer.start()
    redis = new Redis(server.url)
  })
  afterEach(async () => {
    vi.useRealTimers()
    await Promise.all(caches.splice(0).map((cache) => cache.close()))
  })
  afterAll(async () => {
    redis?.disconnect()
    await server?.close()
  })

  it('1,000 concurrent calls on a cold key run the factory once and read Redis once', async () => {
    const cache = await make('stampede')
    const gate = deferred<string>()
    const factory = vi.fn(() => gate.promise)
    const calls = Array.from({ length: 1000 }, () => cache.getOrSet('cold', factory))
    gate.resolve('v')
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(cache.stats().l2?.misses).toBe(1)
  })

  it('keeps a grace entry in Redis for ttl + grace, with the logical expiry in the envelope', async () => {
    const cache = await make('grace')
    const before = Date.now()
    await cache.getOrSet('k', () => 'v', { ttl: 10_000, grace: 60_000 })
    const pttl = await redis.pttl('tc:grace::k')
    expect(pttl).toBeGreaterThan(69_000)
    expect(pttl).toBeLessThanOrEqual(70_000)
    const entry = decodeEntry(msgpackCodec(), (await redis.getBuffer('tc:grace::k'))!)
    expect(entry.expiresAt).toBeGreaterThanOrEqual(before + 10_000)
    expect(entry.expiresAt).toBeLessThanOrEqual(Date.now() + 10_000)
  })

  it('another node serves the stale value from Redis when its factory fails; get sees a miss', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const writer = await make('stale')
    await writer.getOrSet('k', () => 'old', { ttl: 1000, grace: '1h' })
    vi.setSystemTime(Date.now() + 5000) // logically expired, physically kept
    const reader = await make('stale')
    expect(await reader.get('k')).toBeUndefined()
    const served: unknown[] = []
    reader.on('stale:served', (payload) => served.push(payload))
    expect(await reader.getOrSet('k', () => Promise.reject(new Error('db down')), { ttl: 1000, grace: '1h' })).toBe(
      'old',
    )
    expect(served).toMatchObject([{ key: 'k', reason: 'factory-error' }])
    expect(await reader.getOrSet('k', () => 'new', { ttl: 1000, grace: '1h' })).toBe('new')
    // The writer's L1 copy is past its logical expiry: get skips it and reads the new value.
    expect(await writer.get('k')).toBe('new')
  })

  it('refreshes ahead an entry that another node wrote, once, in the background', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const options = { ttl: 10_000, refreshAhead: 0.5 }
    await (await make('ahead')).getOrSet('k', () => 'v1', options)
    vi.setSystemTime(Date.now() + 6000)
    const reader = await make('ahead')
    const next = deferred<string>()
    const refresh = vi.fn(() => next.promise)
    expect(await reader.getOrSet('k', refresh, options)).toBe('v1') // from Redis, then refreshed
    expect(await reader.getOrSet('k', refresh, options)).toBe('v1') // from L1, refresh already running
    expect(refresh).toHaveBeenCalledTimes(1)
    next.resolve('v2')
    await vi.waitFor(async () => expect(await (await make('ahead')).get('k')).toBe('v2'))
  })

  it('does not write a result whose key was deleted while the factory ran', async () => {
    const cache = await make('fence')
    const gate = deferred<string>()
    const pending = cache.getOrSet('k', () => gate.promise)
    await vi.waitFor(() => expect(cache.stats().factory.calls).toBe(1))
    await cache.delete('k')
    gate.resolve('from before the delete')
    expect(await pending).toBe('from before the delete')
    expect(await cache.get('k')).toBeUndefined()
    expect(await redis.exists('tc:fence::k')).toBe(0)
  })
})
