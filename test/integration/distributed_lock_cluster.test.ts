import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'
import { deferred } from '../support/deferred.js'
import { RedisCluster } from '../support/redis_cluster.js'
import { internals } from '../support/make_cache.js'

// The same lock on a real 3-master Redis Cluster: the lock key and the value's key may live on
// different nodes, and the release published by a script on one node must reach a subscriber
// connected to another.
describe('distributed lock on Redis Cluster', () => {
  let cluster: RedisCluster
  const clients: Cluster[] = []
  beforeAll(async () => {
    cluster = await RedisCluster.start()
  }, 60_000)
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await cluster?.close()
  })

  it('runs the factory once for many keys across two caches, waking waiters by pub/sub', async () => {
    const [a, b] = [cluster.client(), cluster.client()].map((client) => {
      clients.push(client)
      return createCache({ redis: client, namespace: 'cl' })
    }) as [ReturnType<typeof createCache>, ReturnType<typeof createCache>]
    await Promise.all([a.ready(), b.ready()]) // the bus's first subscription fences fills in flight: start after it
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`)
    const gate = deferred<void>()
    const calls = new Map<string, number>()
    const factory = (key: string) => async (): Promise<string> => {
      calls.set(key, (calls.get(key) ?? 0) + 1)
      await gate.promise
      return `value of ${key}`
    }
    const first = keys.map((key) => a.getOrSet(key, factory(key), { lock: true, lockTimeout: '20s' }))
    await vi.waitFor(() => expect(calls.size).toBe(keys.length))
    const second = keys.map((key) => b.getOrSet(key, factory(key), { lock: true, lockTimeout: '20s' }))
    // Every key of b has a waiter registered on its lock before the values are written.
    await vi.waitFor(() => expect(internals(b).ctx.lockWaiters?.size).toBe(keys.length), { timeout: 10_000 })
    const started = performance.now()
    gate.resolve()
    expect(await Promise.all(first)).toEqual(keys.map((key) => `value of ${key}`))
    expect(await Promise.all(second)).toEqual(keys.map((key) => `value of ${key}`))
    expect(performance.now() - started).toBeLessThan(5000) // woken, far sooner than lockTimeout
    expect([...calls.values()].every((count) => count === 1)).toBe(true)
    await a.close()
    await b.close()
  })
})
