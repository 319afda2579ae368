/** runWarmJob against a real redis-server: what it writes, how it loads, retries, times out, limits and paces. */
import { describe, expect, it } from 'vitest'
import { defineWarmJob, runWarmJob, type WarmItemEvent } from '../../src/warming/index.js'
import { deferred } from '../support/deferred.js'
import { makeNode, nextEvent, readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()

const range = (n: number, prefix = 'k:'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

describe('runWarmJob: writes', () => {
  it('writes every value through the cache, with the ttl and tags, readable by any server', async () => {
    const warmer = await readyCache({ redis: redis.url, namespace: 'shop', l1: false })
    const app = await readyCache({ redis: redis.url, namespace: 'shop' })
    const job = defineWarmJob({
      name: 'products',
      keys: function* () {
        for (let id = 1; id <= 250; id++) yield id
      },
      key: (id) => `product:${id}`,
      loadMany: (ids) => new Map(ids.map((id) => [id, { id, name: `product ${id}` }])),
      ttl: '1h',
      tags: ['products'],
    })
    const report = await runWarmJob(warmer, job)
    expect(report).toMatchObject({ outcome: 'completed', taken: 250, warmed: 250, skipped: 0, failed: 0 })
    expect(await app.get('product:250')).toEqual({ id: 250, name: 'product 250' })
    const pttl = await redis.raw.pttl('tc:shop::product:1')
    expect(pttl).toBeGreaterThan(3_590_000)
    expect(pttl).toBeLessThanOrEqual(3_600_000)
    await app.invalidateTags(['products'])
    expect(await app.get('product:1')).toBeUndefined()
  })

  it('drops the old value from other servers’ L1 over the bus', async () => {
    const app = await makeNode(redis.url)
    const warmer = await makeNode(redis.url, { l1: false })
    await app.set('k:1', 'old')
    expect(await app.get('k:1')).toBe('old') // in app's L1 now
    const heard = nextEvent(app, 'bus:message', (m) => m.items.includes('k:1'))
    await runWarmJob(warmer, defineWarmJob({ name: 'j', keys: ['k:1'], load: () => 'new' }))
    await heard
    expect(await app.get('k:1')).toBe('new')
  })

  it('spreads expiries with jitter', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    await runWarmJob(cache, defineWarmJob({ name: 'j', keys: range(50), load: () => 1, ttl: '1h', jitter: 0.5 }))
    const ttls = await Promise.all(range(50).map((k) => redis.raw.pttl(`tc:default::${k}`)))
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(1_800_000 - 1000)
    expect(new Set(ttls.map((t) => Math.round(t / 60_000))).size).toBeGreaterThan(5)
  })

  it('counts a loader’s undefined (or a key loadMany leaves out) as skipped, and null as a value', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const one = await runWarmJob(
      cache,
      defineWarmJob({ name: 'a', keys: ['a', 'b', 'c'], load: (k) => (k === 'a' ? undefined : k === 'b' ? null : 1) }),
    )
    expect(one).toMatchObject({ warmed: 2, skipped: 1, skippedBy: { empty: 1 } })
    expect(await cache.get('b')).toBeNull()
    const many = await runWarmJob(
      cache,
      defineWarmJob({ name: 'b', keys: ['x', 'y'], loadMany: () => new Map([['x', 1]]) }),
    )
    expect(many).toMatchObject({ warmed: 1, skipped: 1 })
  })

  it('fails a value that cannot be cached alone, and writes the rest of its batch', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false, maxValueBytes: 1000 })
    const report = await runWarmJob(
      cache,
      defineWarmJob({
        name: 'j',
        keys: range(10),
        loadMany: (keys) => keys.map((k) => (k === 'k:3' ? 'x'.repeat(5000) : k)),
      }),
    )
    expect(report).toMatchObject({ warmed: 9, failed: 1 })
    expect(report.failures).toEqual([expect.objectContaining({ code: 'E_VALUE_TOO_LARGE', count: 1, keys: ['k:3'] })])
    expect(await redis.raw.exists('tc:default::k:3')).toBe(0)
    expect(await redis.raw.exists('tc:default::k:4')).toBe(1)
  })

  it('reports each key to onItem', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const events: WarmItemEvent[] = []
    await runWarmJob(cache, defineWarmJob({ name: 'j', keys: ['a', 'b'], load: (k) => (k === 'a' ? 1 : undefined) }), {
      onItem: (e) => events.push(e),
    })
    expect(events).toEqual(
      expect.arrayContaining([
        { key: 'a', status: 'warmed' },
        { key: 'b', status: 'skipped', reason: 'empty' },
      ]),
    )
  })
})

describe('runWarmJob: concurrency', () => {
  for (const mode of ['load', 'loadMany'] as const) {
    it(`never has more than \`concurrency\` ${mode} calls in flight, and reaches it`, async () => {
      const cache = await readyCache({ redis: redis.url, l1: false })
      const concurrency = 4
      let active = 0
      let peak = 0
      let calls = 0
      const full = deferred<void>()
      const gate = deferred<void>()
      const enter = async (): Promise<void> => {
        calls++
        peak = Math.max(peak, ++active)
        if (active === concurrency) full.resolve()
        // The first `concurrency` calls are held until the test has seen the bound reached and nothing more started.
        if (calls <= concurrency) await gate.promise
        else await new Promise((r) => setImmediate(r))
        active--
      }
      const job = defineWarmJob({
        name: mode,
        keys: range(300),
        concurrency,
        batchSize: 10,
        ...(mode === 'load'
          ? { load: async (k: string) => (await enter(), k) }
          : { loadMany: async (ks: string[]) => (await enter(), ks) }),
      })
      const run = runWarmJob(cache, job)
      await full.promise
      await new Promise((r) => setTimeout(r, 20)) // room for a fifth call to start, were the bound broken
      expect(calls).toBe(concurrency)
      gate.resolve()
      const report = await run
      expect(report.warmed).toBe(300)
      expect(peak).toBe(concurrency)
    })
  }
})

describe('runWarmJob: retries and timeouts', () => {
  it('retries a failing load with growing backoff, then succeeds', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const attempts: number[] = []
    const job = defineWarmJob({
      name: 'j',
      keys: ['flaky'],
      retries: 3,
      retryDelay: 40,
      load: (_key, { attempt }) => {
        attempts.push(performance.now())
        if (attempt < 3) throw new Error('database busy')
        return 'ok'
      },
    })
    const report = await runWarmJob(cache, job)
    expect(report).toMatchObject({ warmed: 1, failed: 0 })
    expect(attempts).toHaveLength(3)
    // Equal jitter: at least half the delay, which doubles: ≥ 20 ms, then ≥ 40 ms.
    expect((attempts[1] as number) - (attempts[0] as number)).toBeGreaterThanOrEqual(19)
    expect((attempts[2] as number) - (attempts[1] as number)).toBeGreaterThanOrEqual(39)
    expect(await cache.get('flaky')).toBe('ok')
  })

  it('fails a key after retries + 1 attempts, grouping the reasons', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    let calls = 0
    const job = defineWarmJob({
      name: 'j',
      keys: range(6),
      retries: 2,
      retryDelay: 1,
      load: (key) => {
        calls++
        if (key === 'k:0' || key === 'k:1') throw new Error(`row ${key} is locked`)
        return key
      },
    })
    const report = await runWarmJob(cache, job)
    expect(report).toMatchObject({ warmed: 4, failed: 2 })
    expect(calls).toBe(4 + 2 * 3)
    expect(report.failures).toEqual([
      { reason: 'row <key> is locked', code: undefined, count: 2, keys: ['k:0', 'k:1'] },
    ])
  })

  it('times out a load, aborts its signal, and retries it', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const aborted: unknown[] = []
    const job = defineWarmJob({
      name: 'j',
      keys: ['slow', 'fast'],
      timeout: 30,
      retries: 1,
      retryDelay: 1,
      load: (key, { signal }) =>
        key === 'fast'
          ? 'fast'
          : new Promise((_resolve, reject) =>
              signal.addEventListener('abort', () => {
                aborted.push(signal.reason)
                reject(signal.reason as Error)
              }),
            ),
    })
    const report = await runWarmJob(cache, job)
    expect(report).toMatchObject({ warmed: 1, failed: 1 })
    expect(aborted).toHaveLength(2)
    expect(report.failures[0]).toMatchObject({
      code: 'E_WARM_TIMEOUT',
      reason: 'WarmTimeoutError: Loading "<key>" did not settle within 30 ms',
      keys: ['slow'],
    })
  })

  it('times out a loadMany batch as a whole, one reason for all its keys', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const job = defineWarmJob({
      name: 'j',
      keys: range(3),
      timeout: 30,
      retries: 0,
      loadMany: (_keys, { signal }) =>
        new Promise<string[]>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    })
    const report = await runWarmJob(cache, job)
    expect(report).toMatchObject({ warmed: 0, failed: 3 })
    expect(report.failures).toEqual([
      {
        reason: 'WarmTimeoutError: loadMany of 3 keys did not settle within 30 ms',
        code: 'E_WARM_TIMEOUT',
        count: 3,
        keys: ['k:0', 'k:1', 'k:2'],
      },
    ])
  })

  it('retries writes when Redis fails, and fails the keys when it stays down', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false, l2: { timeout: 200 } })
    const job = defineWarmJob({ name: 'j', keys: range(20), loadMany: (ks) => ks, retries: 1, retryDelay: 10 })
    redis.server.freeze()
    try {
      const report = await runWarmJob(cache, job, { lease: false })
      expect(report).toMatchObject({ warmed: 0, failed: 20 })
      expect(report.failures[0]?.code).toMatch(/^E_L2_/)
    } finally {
      redis.server.thaw()
    }
  })
})

describe('runWarmJob: limit, rate, dry run, source', () => {
  it('takes at most `limit` keys and closes the source', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    let closed = false
    let pulled = 0
    const keys = function* (): Generator<string> {
      try {
        for (let i = 0; ; i++) {
          pulled++
          yield `k:${i}`
        }
      } finally {
        closed = true
      }
    }
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys, load: () => 1 }), { limit: 25 })
    expect(report).toMatchObject({ outcome: 'completed', taken: 25, warmed: 25 })
    expect(pulled).toBe(25)
    expect(closed).toBe(true)
  })

  it('paces loads at `rate` per second', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const started = performance.now()
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys: range(31), load: () => 1 }), { rate: 100 })
    // 31 loads at 100/s: the last may start 300 ms after the first.
    expect(performance.now() - started).toBeGreaterThanOrEqual(295)
    expect(report.warmed).toBe(31)
  })

  it('dry run: reports what it would warm and writes nothing', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    await cache.set('k:0', 'there')
    let loads = 0
    const planned: string[] = []
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys: range(5), load: () => (loads++, 1) }), {
      dryRun: true,
      onlyMissing: true,
      onItem: (e) => e.status === 'planned' && planned.push(e.key),
    })
    expect(report).toMatchObject({ dryRun: true, planned: 4, warmed: 0, skippedBy: { present: 1 } })
    expect(planned).toEqual(['k:1', 'k:2', 'k:3', 'k:4'])
    expect(loads).toBe(0)
    expect(await redis.raw.dbsize()).toBe(1)
  })

  it('ends with outcome `failed` when the source throws, after finishing what is in flight', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    async function* keys(): AsyncGenerator<string> {
      yield* range(10)
      throw new Error('cursor lost')
    }
    const report = await runWarmJob(cache, defineWarmJob({ name: 'j', keys, load: (k) => k, batchSize: 4 }))
    expect(report.outcome).toBe('failed')
    expect(report.error).toBe('the key source failed: cursor lost')
    expect(report.warmed).toBe(8) // two full batches were dispatched before the source threw
  })

  it('fails with a clear error when items are not strings and no `key` maps them', async () => {
    const cache = await readyCache({ redis: redis.url, l1: false })
    const report = await runWarmJob(
      cache,
      defineWarmJob({ name: 'j', keys: [1, 2] as never as string[], load: () => 1 }),
    )
    expect(report.outcome).toBe('failed')
    expect(report.error).toContain('give `key` to map items to keys')
  })
})
