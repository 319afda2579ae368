/**
 * Issue 5: L2 reads that arrive in the same tick go out as one MGET (one per hash slot on a
 * Cluster); each caller gets its own value. Commands are counted on the real server.
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

  it('100 concurrent gets of keys missing from L1 → one MGET, each caller its own value', async () => {
    const writer = makeCache({ redis: redis.server.url, namespace: 'rc' })
    await writer.setMany(Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: { i } })))
    const reader = makeCache({ redis: redis.server.url, namespace: 'rc' })
    await reader.health() // connected before counting
    await redis.raw.config('RESETSTAT')
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => reader.get(`k${i}`)))
    expect(values).toEqual(Array.from({ length: 100 }, (_, i) => ({ i })))
    const calls = await commandCalls(redis.raw)
    expect(calls.mget).toBe(1)
    expect(calls.get).toBeUndefined()
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
