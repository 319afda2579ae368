/** Jobs, run options, shards and the failure tally: validated with clear errors, typed for their users. */
import { describe, expect, expectTypeOf, it } from 'vitest'
import { createCache } from '../../src/index.js'
import {
  defineWarmJob,
  isWarmJob,
  parseShard,
  runWarmJob,
  shardOf,
  WARM_DEFAULTS,
  type WarmJob,
} from '../../src/warming/index.js'
import { MAX_KEYS_PER_REASON, MAX_REASONS, Tally } from '../../src/warming/tally.js'

const load = (): number => 1

describe('defineWarmJob', () => {
  it('resolves the defaults once', () => {
    const job = defineWarmJob({ name: 'products', keys: ['a'], load })
    expect(job).toMatchObject({
      name: 'products',
      concurrency: WARM_DEFAULTS.concurrency,
      batchSize: 100,
      timeout: 30_000,
      retries: 2,
      retryDelay: 100,
      jitter: 0,
      ttl: undefined,
    })
    expect(isWarmJob(job)).toBe(true)
    expect(defineWarmJob(job)).toBe(job)
    expect(Object.isFrozen(job)).toBe(true)
  })

  it.each([
    [{ name: 'a b', keys: [], load }, /Expected `name` to be 1-100 letters.*got `"a b"` \(string\)/],
    [
      { name: 'j', keys: 'abc', load },
      /Expected `keys` of job "j" to be an array, an iterable.*got `"abc"` \(string\)/,
    ],
    [{ name: 'j', keys: 42, load }, /`keys` of job "j".*`42` \(number\)/],
    [{ name: 'j', keys: [] }, /Expected job "j" to have `load` or `loadMany`, got neither/],
    [{ name: 'j', keys: [], load: 'db' }, /Expected `load` of job "j" to be a function, got `"db"`/],
    [
      { name: 'j', keys: [], load, concurrency: 0 },
      /Expected `concurrency` to be a whole number from 1 and up, got `0`/,
    ],
    [{ name: 'j', keys: [], load, retries: -1 }, /Expected `retries` to be a whole number from 0 and up, got `-1`/],
    [{ name: 'j', keys: [], load, ttl: '10 minutes' }, /Expected `ttl` to be a finite duration/],
    [{ name: 'j', keys: [], load, timeout: -5 }, /Expected `timeout` to be a finite duration zero or more/],
    [
      { name: 'j', keys: [], load, jitter: 2, ttl: '1h' },
      /Expected `jitter` of job "j" to be a number from 0 to 1, got `2`/,
    ],
    [{ name: 'j', keys: [], load, jitter: 0.1 }, /Expected `ttl` of job "j" to be set when `jitter` is/],
    [
      { name: 'j', keys: [], load, tags: 'products' },
      /Expected `tags` of job "j" to be an array of strings or a function/,
    ],
  ])('refuses %o with a TypeError naming the value', (job, message) => {
    expect(() => defineWarmJob(job as never)).toThrow(TypeError)
    expect(() => defineWarmJob(job as never)).toThrow(message)
  })

  it('types items from `keys` and values from the loader', () => {
    const job = defineWarmJob({
      name: 'p',
      keys: function* () {
        yield 1
      },
      key: (id) => `product:${id}`,
      loadMany: (ids) => new Map(ids.map((id) => [id, { id }])),
    })
    expectTypeOf(job).toEqualTypeOf<WarmJob<number, { id: number }>>()
    // Any job is a WarmJob<unknown, unknown>, what a config's `jobs` holds.
    expectTypeOf(job).toMatchTypeOf<WarmJob<unknown, unknown>>()
  })
})

describe('run options', () => {
  const cache = createCache()
  const job = defineWarmJob({ name: 'j', keys: ['a'], load })
  it.each([
    [{ concurrency: 1.5 }, /Expected `concurrency` to be a whole number from 1 and up, got `1.5`/],
    [{ limit: 0 }, /Expected `limit` to be a whole number from 1 and up, got `0`/],
    [{ rate: -1 }, /Expected `rate` to be a number of items per second above 0, got `-1`/],
    [{ shard: '2/2' }, /Expected `shard` to be 'i\/n' with 0 ≤ i < n.*got `"2\/2"`/],
    [{ onlyMissing: 'yes' }, /Expected `onlyMissing` to be a boolean, got `"yes"`/],
    [{ signal: {} }, /Expected `signal` to be an AbortSignal/],
    [{ ifTtlBelow: '1m' }, /Expected a cache with Redis for `ifTtlBelow`/],
    [{ lease: true }, /Expected `lease` to be false or \{ ttl, wait \}/],
    [{ onItem: 1 }, /Expected `onItem` to be a function/],
  ])('refuses %o before anything runs', async (options, message) => {
    await expect(runWarmJob(cache, job, options as never)).rejects.toThrow(message)
  })

  it('refuses something that is not a cache', async () => {
    await expect(runWarmJob({} as never, job)).rejects.toThrow(/Expected a cache made by createCache\(\)/)
  })
})

describe('shards', () => {
  it('parses i/n and { index, count }', () => {
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 })
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 })
    expect(parseShard({ index: 1, count: 2 })).toEqual({ index: 1, count: 2 })
    for (const bad of ['8/8', '-1/4', '1/0', 'a/b', '1', 1, null]) expect(() => parseShard(bad)).toThrow(TypeError)
  })

  it('spreads sequential keys evenly', () => {
    const counts = new Array<number>(8).fill(0)
    for (let i = 0; i < 80_000; i++) (counts[shardOf(`product:${i}`, 8)] as number)++
    for (const n of counts) expect(Math.abs(n - 10_000)).toBeLessThan(500)
  })
})

describe('Tally', () => {
  it('groups failures by reason with the key taken out, a few keys each, and caps the reasons', () => {
    const tally = new Tally('j', '0/1')
    for (let i = 0; i < 100; i++) tally.fail(`k:${i}`, new Error(`row k:${i} is locked`))
    for (let i = 0; i < 30; i++) tally.fail(`x:${i}`, new Error(`error number ${i}`))
    const failures = tally.failures()
    expect(tally.failed).toBe(130)
    expect(failures[0]).toEqual({
      reason: 'row <key> is locked',
      code: undefined,
      count: 100,
      keys: ['k:0', 'k:1', 'k:2', 'k:3', 'k:4'].slice(0, MAX_KEYS_PER_REASON),
    })
    expect(failures).toHaveLength(MAX_REASONS)
    const other = failures.find((f) => f.reason === '(other reasons)')
    expect(other?.count).toBe(30 - (MAX_REASONS - 2))
    expect(failures.reduce((sum, f) => sum + f.count, 0)).toBe(130)
  })

  it('keeps the error name and code', () => {
    const tally = new Tally('j', '0/1')
    const error = Object.assign(new RangeError('too far'), { code: 'E_FAR' })
    tally.fail('a', error)
    expect(tally.failures()[0]).toMatchObject({ reason: 'RangeError: too far', code: 'E_FAR' })
  })
})
