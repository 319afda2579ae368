/**
 * `onlyMissing` and `ifTtlBelow` against a real redis-server: which keys are skipped, and how many commands
 * the checks cost (counted with MONITOR): one per batch of keys, whatever the batch size.
 */
import { describe, expect, it } from 'vitest'
import { defineWarmJob, runWarmJob } from '../../src/warming/index.js'
import { PTTL_MANY } from '../../src/warming/redis_checks.js'
import { readyCache } from '../support/make_cache.js'
import { commandsDuring } from '../support/monitor.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const range = (n: number): string[] => Array.from({ length: n }, (_, i) => `k:${i}`)

/** The check script's calls among the commands seen. */
const checks = (seen: Array<{ name: string; args: string[] }>): number =>
  seen.filter(
    (c) => (c.name === 'evalsha' && c.args[0] === PTTL_MANY.sha) || (c.name === 'eval' && c.args[0]?.includes('PTTL')),
  ).length

describe('onlyMissing', () => {
  it('skips the keys already in Redis, checking 300 keys in 3 round trips', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    await cache.setMany(
      range(300)
        .filter((_, i) => i % 2 === 0)
        .map((key) => ({ key, value: 'before' })),
    )
    let loads = 0
    const job = defineWarmJob({ name: 'j', keys: range(300), batchSize: 100, load: () => (loads++, 'warmed') })
    let report!: Awaited<ReturnType<typeof runWarmJob>>
    const seen = await commandsDuring(
      redis.url,
      async () => (report = await runWarmJob(cache, job, { onlyMissing: true })),
    )
    expect(report).toMatchObject({ warmed: 150, skipped: 150, skippedBy: { present: 150 } })
    expect(loads).toBe(150)
    expect(checks(seen)).toBe(3)
    expect(seen.filter((c) => c.name === 'pttl' || c.name === 'exists')).toHaveLength(0) // none sent per key
    expect(await cache.get('k:0')).toBe('before')
    expect(await cache.get('k:1')).toBe('warmed')
  })

  it('costs no check without it', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const job = defineWarmJob({ name: 'j', keys: range(50), loadMany: (ks) => ks })
    const seen = await commandsDuring(redis.url, () => runWarmJob(cache, job))
    expect(checks(seen)).toBe(0)
  })

  it('checks an L1-only cache with getMany', async () => {
    const cache = await readyCache({})
    await cache.set('k:1', 'before')
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys: range(3), load: () => 'x' }), {
      onlyMissing: true,
    })
    expect(report).toMatchObject({ warmed: 2, skippedBy: { present: 1 } })
    expect(await cache.get('k:1')).toBe('before')
  })
})

describe('ifTtlBelow', () => {
  it('re-warms only missing keys and keys about to expire, one round trip per batch', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const keys = range(200)
    // k:0..49 expire in 5 s, k:50..99 in 1 h, k:100..149 never; k:150..199 are missing.
    await cache.setMany(keys.slice(0, 50).map((key) => ({ key, value: 'old', ttl: '5s' })))
    await cache.setMany(keys.slice(50, 100).map((key) => ({ key, value: 'old', ttl: '1h' })))
    await Promise.all(keys.slice(100, 150).map((key) => redis.raw.set(`tc:default::${key}`, 'raw')))
    const warmed: string[] = []
    const job = defineWarmJob({ name: 'j', keys, batchSize: 50, loadMany: (ks) => ks.map(() => 'new') })
    let report!: Awaited<ReturnType<typeof runWarmJob>>
    const seen = await commandsDuring(
      redis.url,
      async () =>
        (report = await runWarmJob(cache, job, {
          ifTtlBelow: '1m',
          onItem: (e) => e.status === 'warmed' && warmed.push(e.key),
        })),
    )
    expect(report).toMatchObject({ warmed: 100, skipped: 100, skippedBy: { fresh: 100 } })
    expect(warmed.sort()).toEqual([...keys.slice(0, 50), ...keys.slice(150)].sort())
    expect(checks(seen)).toBe(4)
    expect(await cache.get('k:0')).toBe('new')
    expect(await cache.get('k:50')).toBe('old')
  })

  it('is refused on an L1-only cache', async () => {
    const cache = await readyCache({})
    await expect(
      runWarmJob(cache, defineWarmJob({ name: 'j', keys: ['a'], load: () => 1 }), { ifTtlBelow: '1m' }),
    ).rejects.toThrow(TypeError)
  })
})
