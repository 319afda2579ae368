/** Every facade method against a real redis-server that this file starts. */
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { NotACounterError, type Cache, type CacheOptions } from '../../src/index.js'
import { internals, makeCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis({ flush: false })

/**
 * These tests pin down what each facade method does on one node, down to what sits in its L1.
 * The bus is off here: its own tests (bus*.test.ts) cover what crosses nodes, and its messages
 * (a peer's announcement of a write arriving after this node already promoted the new value)
 * would drop L1 entries at moments these assertions do not control.
 */
function node(namespace: string, options: Omit<CacheOptions, 'redis' | 'namespace'> = {}): Cache {
  return makeCache({ redis: redis.server.url, namespace, bus: false, ...options })
}

describe('get / set / has / delete', () => {
  it('writes L2 then L1: another node reads the value from Redis', async () => {
    const a = node('m1')
    const b = node('m1')
    await a.set('k', { n: 1 })
    expect(await redis.raw.exists('tc:m1::k')).toBe(1)
    expect(await b.get('k')).toEqual({ n: 1 })
    expect(await b.has('k')).toBe(true)
    expect(await b.has('other')).toBe(false)
    expect(a.stats().writes).toBe(1)
    expect(b.stats().l2?.hits).toBe(1)
  })

  it('promotes an L2 hit into L1: the second read does not touch Redis', async () => {
    const a = node('m2')
    const b = node('m2')
    await a.set('k', 'v')
    await b.get('k')
    await redis.raw.del('tc:m2::k') // behind the cache's back: only L1 can answer now
    expect(await b.get('k')).toBe('v')
    expect(b.stats().l1?.hits).toBe(1)
  })

  it('gives the Redis key the TTL and L1 no longer than what remains in L2', async () => {
    const a = node('m3')
    await a.set('k', 1, { ttl: '2s' })
    const pttl = await redis.raw.pttl('tc:m3::k')
    expect(pttl).toBeGreaterThan(1500)
    expect(pttl).toBeLessThanOrEqual(2000)
    // A node that promotes later gets an L1 TTL bounded by what is left in L2.
    await redis.raw.pexpire('tc:m3::k', 60_000) // Redis TTL longer than the logical expiry in the envelope
    const b = node('m3', { l1: { maxEntries: 10 } })
    expect(await b.get('k')).toBe(1)
    const remainingL1 = internals(b).l1?.remainingTtl('k') ?? 0
    expect(remainingL1).toBeGreaterThan(0)
    expect(remainingL1).toBeLessThanOrEqual(2000)
  })

  it('caps the L1 TTL with l1.ttl', async () => {
    const a = node('m4', { l1: { maxEntries: 10, ttl: 100 } })
    await a.set('k', 1, { ttl: '1h' })
    expect(internals(a).l1?.remainingTtl('k')).toBeLessThanOrEqual(100)
  })

  it('delete removes the key from L2 and L1 and reports whether it existed', async () => {
    const a = node('m5')
    await a.set('k', 1)
    expect(await a.delete('k')).toBe(true)
    expect(await a.delete('k')).toBe(false)
    expect(await a.get('k')).toBeUndefined()
    expect(await redis.raw.exists('tc:m5::k')).toBe(0)
  })

  it('null is a value, undefined is a miss', async () => {
    const a = node('m6')
    await a.set('n', null)
    const b = node('m6')
    expect(await b.get('n')).toBeNull()
    expect(await b.has('n')).toBe(true)
    expect(await b.get('missing')).toBeUndefined()
  })
})

describe('getOrSet', () => {
  it('runs the factory on a miss, caches the result, and reads it back everywhere', async () => {
    const a = node('g1')
    const b = node('g1')
    let calls = 0
    const factory = async (): Promise<{ id: number }> => ({ id: ++calls })
    expect(await a.getOrSet('p', factory)).toEqual({ id: 1 })
    expect(await a.getOrSet('p', factory)).toEqual({ id: 1 })
    expect(await b.getOrSet('p', factory)).toEqual({ id: 1 })
    expect(calls).toBe(1)
  })

  it('runs the factory once for concurrent misses in one process', async () => {
    const a = node('g2')
    let calls = 0
    let release!: (v: number) => void
    const gate = new Promise<number>((resolve) => (release = resolve))
    const all = Promise.all(Array.from({ length: 200 }, () => a.getOrSet('cold', () => (calls++, gate))))
    release(7)
    expect(new Set(await all)).toEqual(new Set([7]))
    expect(calls).toBe(1)
  })

  it('rejects with FactoryError carrying the cause, and caches nothing', async () => {
    const a = node('g3')
    const boom = new Error('db down')
    await expect(a.getOrSet('k', () => Promise.reject(boom))).rejects.toMatchObject({ code: 'E_FACTORY', cause: boom })
    expect(await redis.raw.exists('tc:g3::k')).toBe(0)
    expect(await a.getOrSet('k', () => 'ok')).toBe('ok')
  })
})

describe('getMany / setMany', () => {
  it('setMany writes every entry in one pipeline and getMany reads the L2 part with one MGET', async () => {
    const a = node('b1')
    await a.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: i, ttl: '1m' })))
    const b = node('b1')
    await redis.raw.config('RESETSTAT')
    const keys = [...Array.from({ length: 100 }, (_, i) => `k${i}`), 'missing']
    const values = await b.getMany(keys)
    expect(values).toEqual([...Array.from({ length: 100 }, (_, i) => i), undefined])
    const stats = await redis.raw.info('commandstats')
    expect(stats).toMatch(/cmdstat_mget:calls=1,/)
    expect(stats).not.toMatch(/cmdstat_get:/)
    // Now everything is in b's L1: no Redis command at all.
    await redis.raw.config('RESETSTAT')
    await b.getMany(keys.slice(0, 100))
    expect(await redis.raw.info('commandstats')).not.toMatch(/cmdstat_mget/)
  })

  it('setMany validates every entry before writing any', async () => {
    const a = node('b2')
    await expect(
      a.setMany([
        { key: 'ok', value: 1 },
        { key: 'bad', value: () => 1 },
      ]),
    ).rejects.toThrow(TypeError)
    expect(await redis.raw.exists('tc:b2::ok')).toBe(0)
  })

  it('deleteMany removes keys and counts those that existed', async () => {
    const a = node('b3')
    await a.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2 },
    ])
    expect(await a.deleteMany(['x', 'y', 'z', 'x'])).toBe(2)
    expect(await a.getMany(['x', 'y'])).toEqual([undefined, undefined])
  })
})

describe('counters', () => {
  it('incr is atomic across nodes', async () => {
    const a = node('c1')
    const b = node('c1')
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).incr('hits')))
    expect(await a.incr('hits', 0)).toBe(100)
    expect(await b.decr('hits', 10)).toBe(90)
    expect(await b.get('hits')).toBe(90)
  })

  it('gives a new counter the TTL and keeps it on later increments', async () => {
    const a = node('c2')
    await a.incr('rate', 1, { ttl: '10s' })
    await a.incr('rate', 1, { ttl: '1h' })
    const pttl = await redis.raw.pttl('tc:c2::rate')
    expect(pttl).toBeGreaterThan(9000)
    expect(pttl).toBeLessThanOrEqual(10_000)
  })

  it('refuses to increment a key that holds a cached value', async () => {
    const a = node('c3')
    await a.set('obj', { a: 1 })
    await expect(a.incr('obj')).rejects.toBeInstanceOf(NotACounterError)
    expect(await a.get('obj')).toEqual({ a: 1 })
  })
})

describe('expire', () => {
  it('changes the Redis TTL and the logical expiry together', async () => {
    const a = node('e1')
    await a.set('k', 'v', { ttl: '1h' })
    expect(await a.expire('k', '5s')).toBe(true)
    const pttl = await redis.raw.pttl('tc:e1::k')
    expect(pttl).toBeGreaterThan(4000)
    expect(pttl).toBeLessThanOrEqual(5000)
    const b = node('e1')
    expect(await b.get('k')).toBe('v')
    expect(internals(b).l1?.remainingTtl('k')).toBeLessThanOrEqual(5000)
    expect(await a.expire('missing', '5s')).toBe(false)
  })
})

describe('clear and namespaces', () => {
  it('clears one namespace with SCAN, leaving other namespaces and children alone', async () => {
    const shop = node('shop')
    const users = shop.namespace('users')
    const other = node('other')
    await shop.setMany(Array.from({ length: 2500 }, (_, i) => ({ key: `p${i}`, value: i })))
    await shop.set('users::x', 'tricky key that looks like a child namespace')
    await users.set('x', 'child')
    await other.set('p1', 'other')
    await redis.raw.config('RESETSTAT')
    await shop.clear()
    expect(await redis.raw.info('commandstats')).not.toMatch(/cmdstat_keys:/)
    expect(await shop.get('p1')).toBeUndefined()
    expect(await shop.get('users::x')).toBeUndefined()
    expect(await users.get('x')).toBe('child')
    expect(await other.get('p1')).toBe('other')
    expect(await redis.raw.keys('tc:shop::*')).toEqual([])
  })

  it('namespace() twice shares one L1, and keys never collide across namespaces', async () => {
    const root = node('ns')
    await root.namespace('a').set('k', 'a')
    await root.namespace('b').set('k', 'b')
    await redis.raw.del('tc:ns:a::k', 'tc:ns:b::k')
    expect(await root.namespace('a').get('k')).toBe('a') // from the shared L1
    expect(await root.namespace('b').get('k')).toBe('b')
    expect(() => root.namespace('bad name')).toThrow(TypeError)
  })
})

describe('health and stats', () => {
  it('health reports the Redis round trip and the L1 size', async () => {
    const a = node('h1')
    await a.set('k', 'v')
    const health = await a.health()
    expect(health.status).toBe('ok')
    expect(health.ok).toBe(true)
    expect(health.l2?.ok).toBe(true)
    expect(health.l2?.latencyMs).toBeGreaterThanOrEqual(0)
    expect(health.l1).toMatchObject({ entries: 1, bytes: expect.any(Number), evictions: 0 })
    expect(health.bus).toBeNull() // bus: false
  })

  it('stats counts hits and misses per tier', async () => {
    const a = node('h2')
    await a.set('k', 'v')
    await a.get('k')
    await a.get('nope')
    const stats = a.stats()
    expect(stats.l1).toMatchObject({ hits: 1, misses: 1 })
    expect(stats.l2).toMatchObject({ misses: 1, errors: 0, circuit: 'closed' })
  })

  it('close() leaves a client passed in open, and closes one it created', async () => {
    const client = new Redis(redis.server.url)
    const mine = makeCache({ redis: client, namespace: 'h3' })
    await mine.set('k', 1)
    await mine.close()
    expect(await client.ping()).toBe('PONG')
    client.disconnect()
    await expect(mine.set('k', 2)).rejects.toMatchObject({ code: 'E_CLOSED' })
  })
})
