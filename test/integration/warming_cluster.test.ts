/**
 * Warming on a real 3-master Redis Cluster: keys spread over every slot, so the checks of `onlyMissing` and
 * `ifTtlBelow` must not send a multi-key command across slots (they go as one pipeline per node), and the
 * lease and run record work as on a single Redis.
 */
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache, type Cache } from '../../src/index.js'
import { defineWarmJob, readWarmRecords, runWarmJob } from '../../src/warming/index.js'
import { RedisCluster } from '../support/redis_cluster.js'

describe('warming on Redis Cluster', () => {
  let cluster: RedisCluster
  const clients: Cluster[] = []
  const caches: Cache[] = []
  beforeAll(async () => {
    cluster = await RedisCluster.start()
  }, 60_000)
  afterAll(async () => {
    await Promise.all(caches.map((c) => c.close()))
    for (const client of clients) client.disconnect()
    await cluster?.close()
  })

  it('checks keys of every slot with per-key PTTLs pipelined per node (no cross-slot call), skipping the ones present', async () => {
    const client = cluster.client()
    clients.push(client)
    const cache = createCache({ redis: client, namespace: 'cl', l1: false })
    caches.push(cache)
    await cache.ready()
    const keys = Array.from({ length: 600 }, (_, i) => `product:${i}`)
    await cache.setMany(keys.filter((_, i) => i % 3 === 0).map((key) => ({ key, value: 'before', ttl: '1h' })))
    await cache.setMany(keys.filter((_, i) => i % 3 === 1).map((key) => ({ key, value: 'before', ttl: '2s' })))
    const job = defineWarmJob({ name: 'products', keys, batchSize: 200, loadMany: (ks) => ks.map(() => 'after') })

    const missing = await runWarmJob(cache, job, { onlyMissing: true })
    expect(missing).toMatchObject({ outcome: 'completed', warmed: 200, skippedBy: { present: 400 }, failed: 0 })
    expect(await cache.get('product:2')).toBe('after')

    const expiring = await runWarmJob(cache, job, { ifTtlBelow: '1m' })
    expect(expiring).toMatchObject({ warmed: 200, skippedBy: { fresh: 400 }, failed: 0 })
    expect(await cache.get('product:0')).toBe('before')
    expect(await cache.get('product:1')).toBe('after')

    // 600 keys checked twice, each with its own PTTL (on the node serving its slot), none by a script.
    const stats = await Promise.all(cluster.servers.map((s) => s.cli('info', 'commandstats')))
    const calls = (name: string): number =>
      stats.reduce((sum, info) => sum + Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0), 0)
    expect(calls('pttl')).toBe(1200)

    const [record] = await readWarmRecords(cache)
    expect(record?.last).toMatchObject({ job: 'products', warmed: 200 })
  })
})
