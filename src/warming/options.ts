/**
 * The options of one run (`runWarmJob(cache, job, options)` and the `warm-cache` flags), validated and
 * resolved once, with the defaults in one place.
 */
import type { Cache, Duration } from '../index.js'
import { describe, parseDuration, redisOf, type RedisConnection } from '../seam.js'
import { wholeNumber, type WarmJob } from './job.js'
import { parseShard, WHOLE, type Shard } from './shard.js'
import type { WarmProgress } from './tally.js'

/** What happened to one key, for `onItem`. */
export type WarmItemEvent =
  | { key: string; status: 'warmed' }
  | { key: string; status: 'skipped'; reason: 'present' | 'fresh' | 'empty' }
  | { key: string; status: 'failed'; error: unknown }
  /** Dry run: this key would be loaded and written. */
  | { key: string; status: 'planned' }

/** The one-run-per-job lease. */
export interface WarmLeaseOptions {
  /**
   * Lease TTL, renewed every third of it while the run lives: how long a crashed run blocks the next one.
   * @default '30s'
   */
  ttl?: Duration
  /**
   * While another run holds the lease: `false` to give up at once (`WarmLeaseHeldError`), `true` to wait
   * for it as long as it takes, or a duration to wait at most.
   * @default false
   */
  wait?: boolean | Duration
}

export interface RunWarmJobOptions {
  /** Overrides the job's `concurrency`. */
  concurrency?: number
  /**
   * Skip keys already in Redis, checked in batches of `batchSize` (one round trip per batch).
   * @default false
   */
  onlyMissing?: boolean
  /**
   * Re-warm only keys missing from Redis or with less than this left to live (checked like `onlyMissing`).
   * Needs a cache with Redis.
   * @default undefined (warm every key)
   */
  ifTtlBelow?: Duration
  /**
   * Take at most this many keys from the source (after the shard filter; skipped keys count).
   * @default no limit
   */
  limit?: number
  /**
   * At most this many loads per second (a `loadMany` call counts its keys).
   * @default no limit
   */
  rate?: number
  /**
   * This worker's share of the keys, `'i/n'` (0 ≤ i < n) or `{ index, count }`: a key is taken when a hash
   * of it falls in shard i, so n workers with the same source warm each key exactly once. Each shard has
   * its own lease and run record.
   * @default '0/1' (every key)
   */
  shard?: Shard | string
  /**
   * Go through the keys (with the shard, limit and Redis checks) without loading or writing anything:
   * `onItem` hears `planned` for each key that would be warmed. No lease is taken, no record written.
   * @default false
   */
  dryRun?: boolean
  /**
   * Stops the run: no new key is taken, loads in flight finish and their values are written, then the run
   * resolves with outcome `'cancelled'`.
   */
  signal?: AbortSignal
  /**
   * The one-run-per-job lease (needs Redis): options, or `false` to run without it.
   * @default { ttl: '30s', wait: false }
   */
  lease?: WarmLeaseOptions | false
  /**
   * Write the run record (`readWarmRecords`) in Redis.
   * @default true (with Redis, and not in a dry run)
   */
  record?: boolean
  /** Called every `progressInterval` while the run lives, when its phase changes, and once at the end. */
  onProgress?: (progress: WarmProgress) => void
  /** @default '1s' */
  progressInterval?: Duration
  /** Called for every key once its outcome is known. */
  onItem?: (event: WarmItemEvent) => void
}

export const RUN_DEFAULTS = Object.freeze({ leaseTtl: '30s', progressInterval: '1s' } as const)

export interface RunSettings {
  connection: RedisConnection | undefined
  concurrency: number
  batchSize: number
  onlyMissing: boolean
  /** ms */
  ifTtlBelow: number | undefined
  limit: number
  rate: number | undefined
  shard: Shard
  dryRun: boolean
  signal: AbortSignal | undefined
  lease: { ttl: number; wait: number } | undefined
  record: boolean
  onProgress: ((progress: WarmProgress) => void) | undefined
  progressInterval: number
  onItem: ((event: WarmItemEvent) => void) | undefined
}

/** @throws TypeError naming the option when a value is invalid, or when `cache` is not a cache. */
export function resolveRun(cache: Cache, job: WarmJob<never, unknown>, options: RunWarmJobOptions): RunSettings {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const connection = redisOf(cache)
  const ifTtlBelow = options.ifTtlBelow === undefined ? undefined : parseDuration(options.ifTtlBelow, 'ifTtlBelow')
  if (ifTtlBelow !== undefined && connection === undefined)
    throw new TypeError('Expected a cache with Redis for `ifTtlBelow` (an L1-only cache has no TTLs to compare)')
  const rate = options.rate
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0))
    throw new TypeError(`Expected \`rate\` to be a number of items per second above 0, got ${describe(rate)}`)
  const lease = options.lease ?? {}
  if (lease !== false && (typeof lease !== 'object' || lease === null))
    throw new TypeError(`Expected \`lease\` to be false or { ttl, wait }, got ${describe(lease)}`)
  const wait = lease === false ? false : (lease.wait ?? false)
  const batchSize = rate === undefined ? job.batchSize : Math.max(1, Math.min(job.batchSize, Math.floor(rate)))
  return {
    connection,
    concurrency: wholeNumber(options.concurrency ?? job.concurrency, 'concurrency', 1),
    batchSize,
    onlyMissing: flag(options.onlyMissing, 'onlyMissing'),
    ifTtlBelow,
    limit: options.limit === undefined ? Infinity : wholeNumber(options.limit, 'limit', 1),
    rate,
    shard: options.shard === undefined ? WHOLE : parseShard(options.shard),
    dryRun: flag(options.dryRun, 'dryRun'),
    signal: checkSignal(options.signal),
    lease:
      lease === false || connection === undefined
        ? undefined
        : {
            ttl: parseDuration(lease.ttl ?? RUN_DEFAULTS.leaseTtl, 'lease.ttl'),
            wait: wait === true ? Infinity : wait === false ? 0 : parseDuration(wait, 'lease.wait', true),
          },
    record: options.record === undefined ? true : flag(options.record, 'record'),
    onProgress: callback(options.onProgress, 'onProgress'),
    progressInterval: parseDuration(options.progressInterval ?? RUN_DEFAULTS.progressInterval, 'progressInterval'),
    onItem: callback(options.onItem, 'onItem'),
  }
}

function flag(value: unknown, name: string): boolean {
  if (value !== undefined && typeof value !== 'boolean')
    throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`)
  return value === true
}

function callback<F>(value: F | undefined, name: string): F | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`)
  return value
}

function checkSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal))
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(value)}`)
  return value
}
