/**
 * Cancellation by AbortSignal, forced at a known point: the loads in flight are held until the signal has
 * aborted, so the test knows exactly which keys had started. No new key is taken afterwards, the held ones
 * finish and are written, and a batch is written whole or not at all.
 */
import { describe, expect, it } from 'vitest'
import { defineWarmJob, runWarmJob, type WarmPhase } from '../../src/warming/index.js'
import { deferred } from '../support/deferred.js'
import { readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const range = (n: number): string[] => Array.from({ length: n }, (_, i) => `k:${i}`)

async function keysInRedis(): Promise<string[]> {
  return (await redis.raw.keys('tc:default::*')).map((k) => k.slice('tc:default::'.length)).sort()
}

describe('cancellation', () => {
  it('load: takes no new key, lets the loads in flight finish and writes them', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const controller = new AbortController()
    const started: string[] = []
    const full = deferred<void>()
    const gate = deferred<void>()
    const phases: WarmPhase[] = []
    const job = defineWarmJob({
      name: 'j',
      keys: range(1000),
      concurrency: 4,
      load: async (key) => {
        started.push(key)
        if (started.length === 4) full.resolve()
        await gate.promise
        return `v${key}`
      },
    })
    const run = runWarmJob(cache, job, { signal: controller.signal, onProgress: (p) => phases.push(p.phase) })
    await full.promise
    controller.abort()
    gate.resolve()
    const report = await run
    expect(report).toMatchObject({ outcome: 'cancelled', warmed: 4, failed: 0 })
    expect(started).toHaveLength(4)
    expect(await keysInRedis()).toEqual([...started].sort())
    expect(phases).toEqual(['running', 'stopping', 'done'])
  })

  it('loadMany: every batch that started is written whole, and nothing else', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const controller = new AbortController()
    const batches: string[][] = []
    const full = deferred<void>()
    const gate = deferred<void>()
    const job = defineWarmJob({
      name: 'j',
      keys: range(1000),
      concurrency: 2,
      batchSize: 10,
      loadMany: async (keys) => {
        batches.push(keys)
        if (batches.length === 2) full.resolve()
        await gate.promise
        return keys.map((k) => `v${k}`)
      },
    })
    const run = runWarmJob(cache, job, { signal: controller.signal })
    await full.promise
    controller.abort()
    gate.resolve()
    const report = await run
    expect(report).toMatchObject({ outcome: 'cancelled', warmed: 20 })
    expect(batches).toHaveLength(2)
    expect(await keysInRedis()).toEqual(batches.flat().sort())
  })

  it('makes no further retry once cancelled', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const controller = new AbortController()
    let attempts = 0
    const job = defineWarmJob({
      name: 'j',
      keys: ['a'],
      retries: 5,
      retryDelay: '10s',
      load: () => {
        attempts++
        queueMicrotask(() => controller.abort()) // cancelled while waiting to retry
        throw new Error('down')
      },
    })
    const report = await runWarmJob(cache, job, { signal: controller.signal })
    expect(report).toMatchObject({ outcome: 'cancelled', failed: 1 })
    expect(attempts).toBe(1)
  })

  it('does nothing when the signal has already aborted', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    let loads = 0
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys: range(10), load: () => loads++ }), {
      signal: AbortSignal.abort(),
    })
    expect(report).toMatchObject({ outcome: 'cancelled', taken: 0 })
    expect(loads).toBe(0)
    expect(await redis.raw.dbsize()).toBe(0)
  })
})
