/**
 * Issue 5: L2 reads that arrive in the same tick go out together as MGETs (one per hash slot on a
 * Cluster), split in two while fewer than two reads are in flight (issue 13); each caller gets its own value.
 * Commands are counted on the real server.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeCache } from '../support/make_cache.js'
import { RedisCluster } from '../support/redis_cluster.js'
import { useRedis } from '../support/redis_server.js'

async function commandCalls(raw: Redis): Promise<Record<string, number>> {
  const info = await raw.info('commandstats')
  const calls: Record<string, number> = {}
  for (const match of info.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls[match[1] as string] = Number(match[2])
  return calls
}

describe('read coalescing on one Redis', () => {
  const redis = useRedis({ flush: false })

  it('100 concurrent gets of small values missing from L1 → four MGETs of 25 (four reads kept in flight), each caller its own value', async () => {
    const writer = makeCache({ redis: redis.server.url, namespace: 'rc' })
    await writer.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: { i } })))
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc' })
    await reader.health() // connected before counting
    await redis.raw.config('RESETSTAT')
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => reader.get(`k${i}`)))
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })))
    const calls = await commandCalls(redis.raw)
    expect(calls.mget).toBe(4)
    expect(calls.get).toBeUndefined()
  })

  it('once the values read lately are large (10 KB), 100 concurrent gets → two MGETs of 50', async () => {
    const big = (i: number) => ({ i, text: 'x'.repeat(10_000) })
    const writer = makeCache({ redis: redis.server.url, namespace: 'rc-large' })
    await writer.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: big(i) })))
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc-large', l1: false })
    await reader.health()
    await Promise.all(Array.from({ length: 8 }, (_, i) => reader.get(`k${i}`))) // learns the size
    await redis.raw.config('RESETSTAT')
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => reader.get(`k${i}`)))
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => big(i)))
    expect(await commandCalls(redis.raw)).toMatchObject({ mget: 2 })
  })

  it('reads of a later tick, while the reads in flight are at the depth, go out as one MGET (not split again)', async () => {
    const writer = makeCache({ redis: redis.server.url, namespace: 'rc-depth' })
    await writer.setMany(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })))
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc-depth', l1: false })
    await reader.health()
    await redis.raw.config('RESETSTAT')
    // Redis holds every reply until the pause ends: the first tick's four MGETs are still in flight when the
    // second tick's reads are sent.
    await redis.raw.client('PAUSE', 500, 'ALL')
    const first = Array.from({ length: 10 }, (_, i) => reader.get(`k${i}`))
    await new Promise((resolve) => setImmediate(resolve))
    const second = Array.from({ length: 10 }, (_, i) => reader.get(`k${10 + i}`))
    expect(await Promise.all([...first, ...second])).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(await commandCalls(redis.raw)).toMatchObject({ mget: 5 }) // 3 + 3 + 2 + 2, then 10
  })

  it('a lone read is sent at once as a plain GET (no timer, no batch)', async () => {
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc-lone' })
    await reader.health()
    await redis.raw.config('RESETSTAT')
    expect(await reader.get('nothing')).toBeUndefined()
    expect(await commandCalls(redis.raw)).toMatchObject({ get: 1 })
  })

  it('concurrent getOrSet misses on different keys share one read: one Lua call that also takes their leases', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'rc-gos' })
    await cache.getOrSet('warm-the-script-cache', () => 0)
    await redis.raw.config('RESETSTAT')
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => cache.getOrSet(`k${i}`, () => i)))
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i))
    const calls = await commandCalls(redis.raw)
    expect(calls.mget).toBeUndefined()
    expect(calls.evalsha).toBe(1 + 20) // one Lua call reads all 20 and takes their leases, then 20 fills
    expect(await redis.raw.keys('tc!lease:*')).toEqual([]) // every fill dropped its lease
  })

  it('a garbage payload in a batch fails only its own caller', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'rc-bad' })
    await cache.set('good', 'ok')
    await redis.raw.set('tc:rc-bad::bad', 'not an envelope')
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc-bad' })
    const [good, bad] = await Promise.all([reader.get('good'), reader.get('bad')])
    expect(good).toBe('ok')
    expect(bad).toBeUndefined()
  })
})

describe('read coalescing on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster
  beforeAll(async () => (cluster = await RedisCluster.start()), 60_000)
  afterAll(async () => cluster?.close())

  it('coalesced reads across slots return the right values', async () => {
    const writerClient = cluster.client()
    const readerClient = cluster.client()
    try {
      const writer = makeCache({ redis: writerClient, namespace: 'cl' })
      const reader = makeCache({ redis: readerClient, namespace: 'cl' })
      const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`)
      await writer.setMany(keys.map((key, i) => ({ key, value: i })))
      expect(await Promise.all(keys.map((key) => reader.get(key)))).toEqual(keys.map((_, i) => i))
      const fresh = makeCache({ redis: readerClient, namespace: 'cl', l1: false })
      expect(await fresh.getMany([...keys, 'missing'])).toEqual([...keys.map((_, i) => i), undefined])
      expect(await fresh.deleteMany(keys.slice(0, 50))).toBe(50)
      expect(await fresh.getMany(keys.slice(0, 2))).toEqual([undefined, undefined])
      await fresh.clear()
      expect(await fresh.get('key-100')).toBeUndefined()
    } finally {
      writerClient.disconnect()
      readerClient.disconnect()
    }
  })
})
