/**
 * One run per job (and shard) at a time, across processes: the lease, forced into each case. A run holds
 * its lease while its loads are held by the test; a second run gives up or waits; a holder killed with
 * SIGKILL blocks the next run only until its lease TTL; a run whose lease is taken stops. And the run
 * record every server reads.
 */
import { describe, expect, it } from 'vitest'
import {
  defineWarmJob,
  readWarmRecords,
  runWarmJob,
  WarmLeaseHeldError,
  type WarmPhase,
} from '../../src/warming/index.js'
import { warmKeysOf } from '../../src/warming/record.js'
import { deferred } from '../support/deferred.js'
import { readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'

const redis = useRedis()

/** A job whose loads wait for `gate`; `started` resolves when the first load starts (the run holds its lease then). */
function heldJob(name = 'held', concurrency = 8) {
  const started = deferred<void>()
  const gate = deferred<void>()
  const job = defineWarmJob({
    name,
    keys: ['a', 'b', 'c'],
    concurrency,
    load: async (key) => {
      started.resolve()
      await gate.promise
      return key
    },
  })
  return { job, started: started.promise, release: () => gate.resolve() }
}

describe('one run per job', () => {
  it('a second run gives up at once while the first holds the lease', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const first = heldJob()
    const running = runWarmJob(cache, first.job)
    await first.started
    const error = await runWarmJob(cache, first.job).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WarmLeaseHeldError)
    expect(error).toMatchObject({ code: 'E_WARM_LEASE_HELD', job: 'held', shard: '0/1', waited: 0 })
    expect((error as WarmLeaseHeldError).expiresIn).toBeGreaterThan(0)
    expect((error as Error).message).toMatch(
      /^Job "held" shard 0\/1 is already running elsewhere: its lease expires in [\d.]+ s unless renewed$/,
    )
    first.release()
    expect((await running).warmed).toBe(3)
  })

  it('a second run with `wait` starts once the first has ended', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const first = heldJob()
    const order: string[] = []
    const running = runWarmJob(cache, first.job).then((r) => (order.push('first done'), r))
    await first.started
    const waiting = deferred<void>()
    const phases: WarmPhase[] = []
    const second = runWarmJob(
      cache,
      defineWarmJob({ name: 'held', keys: ['z'], load: (k) => (order.push('second loads'), k) }),
      {
        lease: { wait: true, ttl: 500 }, // polls every 100 ms
        onProgress: (p) => {
          phases.push(p.phase)
          if (p.phase === 'waiting') waiting.resolve()
        },
      },
    )
    await waiting.promise
    first.release()
    const [a, b] = await Promise.all([running, second])
    expect(order).toEqual(['first done', 'second loads'])
    expect(a.warmed).toBe(3)
    expect(b).toMatchObject({ outcome: 'completed', warmed: 1 })
    expect(b.waitedMs).toBeGreaterThan(0)
    expect(phases[0]).toBe('waiting')
  })

  it('gives up after `wait` when the holder does not end', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const first = heldJob()
    const running = runWarmJob(cache, first.job)
    await first.started
    const error = await runWarmJob(cache, first.job, { lease: { wait: 120 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WarmLeaseHeldError)
    expect((error as WarmLeaseHeldError).waited).toBeGreaterThanOrEqual(120)
    first.release()
    await running
  })

  it('shards have leases of their own', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const first = heldJob()
    const running = runWarmJob(cache, first.job, { shard: '0/2' })
    await first.started
    const other = await runWarmJob(cache, defineWarmJob({ name: 'held', keys: ['x'], load: (k) => k }), {
      shard: '1/2',
    })
    expect(other.outcome).toBe('completed')
    first.release()
    await running
  })

  it('a holder killed with SIGKILL blocks the next run only until its lease expires', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const holder = new Worker('test/fixtures/warming/lease_holder.ts', [redis.url, '600'])
    try {
      await holder.next('leased')
      const lease = warmKeysOf(cache, 'held', '0/1').lease
      expect(await redis.raw.pttl(lease)).toBeLessThanOrEqual(600)
      await expect(runWarmJob(cache, heldJob().job)).rejects.toBeInstanceOf(WarmLeaseHeldError)
      holder.kill()
      await new Promise((resolve) => holder.child.once('exit', resolve))
      const next = await runWarmJob(cache, defineWarmJob({ name: 'held', keys: ['a'], load: (k) => k }), {
        lease: { wait: '5s' },
      })
      expect(next).toMatchObject({ outcome: 'completed', warmed: 1 })
      expect(next.waitedMs).toBeLessThan(2000) // the 600 ms TTL, plus a poll
    } finally {
      holder.kill()
    }
  })

  it('a run whose lease was taken stops taking keys and does not release or record over the new holder', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const first = heldJob('taken', 1)
    const stopping = deferred<void>()
    const running = runWarmJob(cache, first.job, {
      lease: { ttl: 150 },
      onProgress: (p) => p.phase === 'stopping' && stopping.resolve(),
    })
    await first.started
    const { lease, runs } = warmKeysOf(cache, 'taken', '0/1')
    await redis.raw.set(lease, 'another run', 'PX', 10_000) // as if our lease had expired and another run took it
    await stopping.promise // the next heartbeat finds it gone
    first.release()
    const report = await running
    expect(report.outcome).toBe('lease-lost')
    expect(report.error).toBe('stopped: its lease expired and another run took it')
    expect(report.warmed).toBe(1) // the one load in flight; no other key was taken after
    expect(await redis.raw.get(lease)).toBe('another run')
    expect(await redis.raw.hget(runs, '0/1')).toBeNull()
  })
})

describe('run records', () => {
  it('every server reads the last run, the last success and the run in progress', async () => {
    const warmer = await readyCache({ redis: redis.url, namespace: 'shop', l1: false })
    const other = await readyCache({ redis: redis.url, namespace: 'shop' })
    await runWarmJob(warmer, defineWarmJob({ name: 'products', keys: ['a', 'b'], load: (k) => k }))
    const [done] = await readWarmRecords(other)
    expect(done).toMatchObject({
      job: 'products',
      shard: '0/1',
      running: undefined,
      last: { outcome: 'completed', taken: 2, warmed: 2, failed: 0, pid: process.pid },
    })
    const success = done?.last?.lastSuccessAt
    expect(success).toBeGreaterThan(0)

    const failing = defineWarmJob({
      name: 'products',
      keys: ['a'],
      retries: 0,
      load: () => Promise.reject(new Error('x')),
    })
    await runWarmJob(warmer, failing)
    const [after] = await readWarmRecords(other, 'products')
    expect(after?.last).toMatchObject({ failed: 1, lastSuccessAt: success })

    const held = heldJob('slow')
    const running = runWarmJob(warmer, held.job)
    await held.started
    const statuses = await readWarmRecords(other)
    expect(statuses.map((s) => s.job)).toEqual(['products', 'slow'])
    expect(statuses[1]?.running).toMatchObject({ job: 'slow', stale: false, leaseTtl: 30_000 })
    held.release()
    await running
    expect((await readWarmRecords(other, 'slow'))[0]?.running).toBeUndefined()
    expect(await readWarmRecords(await readyCache({ redis: redis.url, namespace: 'other' }))).toEqual([])
  })

  it('shows the run of a process that died as stale, and ignores garbage', async () => {
    const cache = await readyCache({ redis: redis.url, namespace: 'shop', l1: false })
    const { runs } = warmKeysOf(cache, 'orders', '0/1')
    const dead = { job: 'orders', shard: '0/1', startedAt: 1, updatedAt: Date.now() - 60_000, leaseTtl: 30_000 }
    await redis.raw.hset(runs, '0/1:running', JSON.stringify({ ...dead, host: 'h', pid: 1 }), '1/2', 'not json')
    const statuses = await readWarmRecords(cache, 'orders')
    expect(statuses).toEqual([
      { job: 'orders', shard: '0/1', last: undefined, running: expect.objectContaining({ stale: true }) },
    ])
  })
})
