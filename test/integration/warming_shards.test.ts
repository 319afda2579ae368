/**
 * `shard: 'i/n'`: n workers running at once over the same source, each with its own lease, warm every key
 * exactly once between them.
 */
import { describe, expect, it } from 'vitest'
import { defineWarmJob, runWarmJob, shardOf } from '../../src/warming/index.js'
import { readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const KEYS = 2000

describe('shards', () => {
  it('four workers at once cover every key exactly once', async () => {
    const loads = new Map<string, number>()
    const job = defineWarmJob({
      name: 'catalogue',
      keys: async function* () {
        for (let id = 0; id < KEYS; id++) yield id
      },
      key: (id) => `product:${id}`,
      loadMany: (ids) => {
        for (const id of ids) loads.set(`product:${id}`, (loads.get(`product:${id}`) ?? 0) + 1)
        return ids.map((id) => ({ id }))
      },
    })
    const workers = await Promise.all([0, 1, 2, 3].map(() => readyCache({ redis: redis.url, l1: false })))
    const reports = await Promise.all(workers.map((cache, i) => runWarmJob(cache, job, { shard: `${i}/4` })))
    expect(reports.map((r) => r.outcome)).toEqual(['completed', 'completed', 'completed', 'completed'])
    expect(reports.reduce((sum, r) => sum + r.warmed, 0)).toBe(KEYS)
    expect(loads.size).toBe(KEYS)
    expect([...loads.values()].every((n) => n === 1)).toBe(true)
    // Each worker took only its own keys, and the split is even enough to be worth it.
    for (const r of reports) {
      expect(r.taken).toBeGreaterThan(KEYS / 4 - 100)
      expect(r.taken).toBeLessThan(KEYS / 4 + 100)
    }
    expect(await redis.raw.dbsize()).toBe(KEYS + 1) // the keys and the job's run record
  })

  it('puts a key in the same shard on every run', () => {
    expect(shardOf('product:42', 8)).toBe(shardOf('product:42', 8))
    expect(shardOf('product:42', 1)).toBe(0)
  })
})
