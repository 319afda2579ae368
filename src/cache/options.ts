/**
 * The options of `createCache` and of each call, with their TSDoc (every `@default` is a value of
 * {@link DEFAULTS}), and their resolution: validated once, into `ResolvedOptions`.
 */
import { isCodec, jsonCodec, msgpackCodec, type Codec } from '../codec/codec.js'
import { describe } from '../internal/describe.js'
import { parseDuration, type Duration } from '../internal/duration.js'
import { checkKnownOptions } from '../internal/known_options.js'
import { isClusterClient, type RedisClient, type RedisInput } from '../redis/connection.js'
import { DEFAULTS } from './defaults.js'
import { resolveL2, type L2Options, type ResolvedL2 } from './l2_options.js'
import { plainObject, positiveInteger } from './option_checks.js'

/**
 * L1 (in-process LRU) settings. Both bounds always apply, to the whole cache: every namespace of it
 * (`namespace()`) shares one L1, and the least recently used entry of any namespace goes first.
 */
export interface L1Options {
  /**
   * Most entries L1 holds, all namespaces together.
   * @default 10_000
   */
  maxEntries?: number
  /**
   * Most bytes L1 holds, all namespaces together, counted as the encoded size of each value (a proxy for heap
   * size: README, "Memory", gives the measured ratio).
   * @default 67_108_864 (64 MiB)
   */
  maxBytes?: number
  /**
   * Cap on how long an entry stays in L1. An entry never outlives what remains of its TTL in L2.
   * @default no cap beyond the entry's TTL
   */
  ttl?: Duration
}

export type { L2Options, WriteErrorPolicy } from './l2_options.js'

/** The invalidation bus (Redis pub/sub) that keeps every node's L1 coherent. */
export interface BusOptions {
  /**
   * While this node's subscription is down (it cannot hear other nodes' invalidations), L1 entries installed
   * longer ago than this are not served: reads go to Redis instead. When the subscription is back, L1 is dropped
   * before L1 hits resume. `0` serves nothing from L1 while the bus is down.
   * @default '1s'
   */
  maxStaleness?: Duration
  /**
   * Most invalidations (keys or tags) kept for retry while publishing fails; the newest per key is kept. Past it,
   * the oldest namespace's pending keys collapse into one "namespace cleared" message, so nothing is lost, only
   * coarsened.
   * @default 10_000
   */
  maxQueue?: number
  /**
   * Longest wait between two retries of failed publishes (retries start at 50 ms and double).
   * @default '2s'
   */
  maxRetryDelay?: Duration
  /**
   * How often the subscriber connection is PINGed. A PING left unanswered for a whole interval means the
   * connection is lost without having closed (half-open TCP, frozen server): the node stops trusting L1 as when
   * the connection drops, and reconnects. `0` turns it off (only closed connections are noticed).
   * @default '1s'
   */
  heartbeat?: Duration
  /**
   * Sharded pub/sub on a Redis 7 Cluster (`redis` must be an ioredis `Cluster`): each write announces itself with
   * SPUBLISH on a channel of its own key's hash slot, in the same Lua call, so a message travels only within the
   * shard that owns the key (its master and replicas) instead of over the cluster bus to every node; each node
   * keeps one subscriber connection per master (SSUBSCRIBEd to the channels of that master's slots) and follows
   * failovers and resharding. Every node of one cache (same `prefix`) must use the same setting: a classic node
   * and a sharded node do not hear each other. See README "Sharded bus".
   * @default false
   */
  sharded?: boolean
}

export interface CacheOptions {
  /**
   * The shared tier: a Redis URL (`redis://host:6379/0`), an ioredis `Redis` or `Cluster` instance (yours:
   * `close()` leaves it open), or ioredis `RedisOptions` (a client tiercache creates and closes).
   * Without it the cache runs on L1 alone. Sentinel: ioredis options with `sentinels` and `name`; tiercache adds
   * `failoverDetector: true` (default for the clients it creates from them; pass `false` to turn it off) so that
   * writes and the bus move to the new primary as soon as a sentinel announces it (README, "Sentinel"). A Sentinel
   * client of yours is used as it is: set `failoverDetector: true` on it yourself.
   * @default undefined (L1 only)
   */
  redis?: RedisInput
  /**
   * Scopes keys, `clear()` and (with the bus) invalidations. Letters, digits, `_`, `-`, `.`; `a:b` nests.
   * @default 'default'
   */
  namespace?: string
  /**
   * First part of every Redis key: `<prefix>:<namespace>::<key>`.
   * @default 'tc'
   */
  prefix?: string
  /**
   * Default time to live for entries.
   * @default '30m'
   */
  ttl?: Duration
  /**
   * L1 settings, or `false` to run without L1 (every read goes to Redis).
   * @default { maxEntries: 10_000, maxBytes: 64 MiB }
   */
  l1?: L1Options | false
  /**
   * L2 settings, or `false` to run on L1 alone even when `redis` is given.
   * @default { timeout: 500, onWriteError: 'throw', localTtl: '5s', breaker: { threshold: 5, cooldown: '1s' } }
   */
  l2?: L2Options | false
  /**
   * Pub/sub invalidation between nodes: `set`, `delete`, `clear`, `expire` and `invalidateTags` on one node drop the
   * key from every other node's L1. `true` or options to turn it on, `false` for a single node.
   * @default true when `redis` is given (and `l2` is not false), false otherwise
   */
  bus?: boolean | BusOptions
  /**
   * How values become bytes: `'msgpack'` (structured clone: Date, Map, Set, BigInt, Buffer, circular…),
   * `'json'`, or your own {@link Codec}.
   * @default 'msgpack'
   */
  codec?: 'msgpack' | 'json' | Codec
  /**
   * Largest encoded value accepted; larger values are refused with `ValueTooLargeError` and nothing changes.
   * @default 1_048_576 (1 MiB)
   */
  maxValueBytes?: number
  /**
   * Longest key accepted, in UTF-8 bytes (before the prefix and namespace are added).
   * @default 1024
   */
  maxKeyBytes?: number
}

/** Options of one write. */
export interface SetOptions {
  /** Time to live; the cache's `ttl` when omitted. */
  ttl?: Duration
  /** Tags to invalidate this entry by, with `invalidateTags`. */
  tags?: readonly string[]
}

/**
 * Options of `getOrSet` (and of `cached()` wrappers): the write it makes on a miss, and how the
 * factory is run. `T` is the factory's result type.
 */
export interface GetOrSetOptions<T = unknown> {
  /** Time to live of the value the factory returns. @default the cache's `ttl` */
  ttl?: Duration
  /**
   * Tags to invalidate the entry by: fixed, or computed from the factory's result.
   * @default none
   */
  tags?: readonly string[] | ((value: T) => readonly string[])
  /**
   * Decides whether a result is cached; results it refuses are returned but not written.
   * @default every result except `undefined` is cached
   */
  shouldCache?: (value: T) => boolean
  /**
   * Negative caching: time to live of a `null` result, or `false` to never cache `null`.
   * @default the same as `ttl`
   */
  nullTtl?: Duration | false
  /**
   * Spreads expiries of entries written together: the TTL is shortened by a random part of up to
   * this fraction (0 to 1), so they do not all miss at the same moment.
   * @default 0
   */
  jitter?: number
  /**
   * How long past its expiry an entry is kept (in Redis and L1) to be served stale when the
   * factory fails or times out. `get` never returns a stale entry; only `getOrSet` does.
   * @default 0 (no grace)
   */
  grace?: Duration
  /**
   * When a stale value (within `grace`) exists and the factory takes longer than this, the stale
   * value is returned and the factory goes on in the background; its result is cached when it
   * arrives. Without a stale value the caller waits (up to `hardTimeout`).
   * @default none
   */
  softTimeout?: Duration
  /**
   * Longest wait for the factory: past it the call rejects with `FactoryHardTimeoutError` (or
   * returns a stale value within `grace`); the factory goes on in the background and its result
   * is cached when it arrives.
   * @default none
   */
  hardTimeout?: Duration
  /**
   * Refresh ahead: once this fraction (0 to 1, exclusive) of the TTL has passed, a hit still
   * returns the cached value at once and starts one background refresh. Failures are reported
   * as `refresh:error` events.
   * @default none
   */
  refreshAhead?: number
  /**
   * Distributed stampede protection: on a miss, only the process holding a Redis lock on the key
   * runs the factory; the others wait for its value (woken by pub/sub, no polling) for at most
   * `lockTimeout`, then run the factory themselves. Needs Redis; ignored on an L1-only cache.
   * @default false
   */
  lock?: boolean
  /**
   * How long the lock is held at most, and how long waiters wait for its holder.
   * @default '5s'
   */
  lockTimeout?: Duration
  /**
   * Return the factory's value without waiting for the Redis write. The value is installed in this
   * node's L1 at once (so concurrent callers here do not run the factory again) and written to Redis,
   * with its bus announcement, in the background; a failed write is reported as `write:degraded` (the
   * L1 copy is then kept for at most `l2.localTtl`), never as a rejection. Other nodes find the value
   * in Redis once the write lands. Saves one round trip of latency on every cold miss.
   * @default false
   */
  background?: boolean
  /**
   * Run the factory now, whatever is cached (no read first), and cache its result: a refresh. Concurrent
   * misses on the key in this process join this run. The distributed lock (`lock`) is not taken.
   * @default false
   */
  forceFresh?: boolean
}

/** Options of `incr`/`decr`. */
export interface CounterOptions {
  /**
   * TTL given to the counter when this call creates it; an existing counter keeps its TTL. @default the
   * cache's `ttl`
   */
  ttl?: Duration
}

/** Options after defaults and validation, computed once per cache. @internal */
export interface ResolvedOptions {
  namespace: string
  prefix: string
  ttl: number
  l1: { maxEntries: number; maxBytes: number; ttl: number } | undefined
  l2: ResolvedL2 | undefined
  bus:
    { maxStaleness: number; maxQueue: number; maxRetryDelay: number; heartbeat: number; sharded: boolean } | undefined
  codec: Codec
  maxValueBytes: number
  maxKeyBytes: number
}

const NAMESPACE = /^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*$/

export function checkNamespace(value: unknown, name = 'namespace'): string {
  if (typeof value !== 'string' || !NAMESPACE.test(value) || value.length > 128)
    throw new TypeError(
      `Expected \`${name}\` to be 1-128 letters, digits, '_', '-' or '.', with ':' between parts, ` +
        `got ${describe(value)}`,
    )
  return value
}

/** `bus.sharded`: a boolean, true only with a Cluster client (SPUBLISH/SSUBSCRIBE route by slot). */
function shardedBus(value: unknown, redis: unknown): boolean {
  if (value !== undefined && typeof value !== 'boolean')
    throw new TypeError(`Expected \`bus.sharded\` to be a boolean, got ${describe(value)}`)
  if (value === true && !(typeof redis === 'object' && redis !== null && isClusterClient(redis as RedisClient)))
    throw new TypeError(`\`bus.sharded: true\` needs an ioredis Cluster as \`redis\`, got ${describe(redis)}`)
  return value ?? DEFAULTS.bus.sharded
}

/** The names each options object accepts (anything else is a TypeError naming the nearest). */
const KNOWN = {
  cache: ['redis', 'namespace', 'prefix', 'ttl', 'l1', 'l2', 'bus', 'codec', 'maxValueBytes', 'maxKeyBytes'],
  l1: ['maxEntries', 'maxBytes', 'ttl'],
  bus: ['maxStaleness', 'maxQueue', 'maxRetryDelay', 'heartbeat', 'sharded'],
  set: ['ttl', 'tags'],
  setMany: ['key', 'value', 'ttl', 'tags'],
  counter: ['ttl'],
} as const

export function checkSetOptions(options: SetOptions, many = false): void {
  checkKnownOptions(plainObject(options, many ? 'entry' : 'options'), many ? KNOWN.setMany : KNOWN.set)
}

export function checkCounterOptions(options: CounterOptions): void {
  checkKnownOptions(plainObject(options, 'options'), KNOWN.counter)
}

export function resolveOptions(input: CacheOptions | undefined): ResolvedOptions {
  const options = input === undefined ? {} : (plainObject(input, 'options') as CacheOptions)
  checkKnownOptions(options, KNOWN.cache)
  const ttl = parseDuration(options.ttl ?? DEFAULTS.ttl, 'ttl')

  let l1: ResolvedOptions['l1']
  if (options.l1 !== false) {
    const l1Input = options.l1 === undefined ? {} : (plainObject(options.l1, 'l1') as L1Options)
    checkKnownOptions(l1Input, KNOWN.l1, 'l1.')
    l1 = {
      maxEntries: positiveInteger(l1Input.maxEntries, 'l1.maxEntries', DEFAULTS.l1.maxEntries) as number,
      maxBytes: positiveInteger(l1Input.maxBytes, 'l1.maxBytes', DEFAULTS.l1.maxBytes) as number,
      ttl: l1Input.ttl === undefined ? DEFAULTS.l1.ttl : parseDuration(l1Input.ttl, 'l1.ttl'),
    }
  }

  if (options.l2 !== false && options.redis === undefined && options.l2 !== undefined)
    throw new TypeError(
      '`l2` options were given without `redis`: pass `redis` (a URL, client or options), or `l2: false`',
    )
  const withRedis = options.l2 !== false && options.redis !== undefined
  if (l1 === undefined && !withRedis)
    throw new TypeError('A cache needs at least one tier: `l1` is false and no `redis` is given')

  let bus: ResolvedOptions['bus']
  if (options.bus !== undefined && options.bus !== true && options.bus !== false) plainObject(options.bus, 'bus')
  if (options.bus !== false && withRedis) {
    const busInput = typeof options.bus === 'object' ? options.bus : {}
    checkKnownOptions(busInput, KNOWN.bus, 'bus.')
    bus = {
      maxStaleness: parseDuration(busInput.maxStaleness ?? DEFAULTS.bus.maxStaleness, 'bus.maxStaleness', true),
      maxQueue: positiveInteger(busInput.maxQueue, 'bus.maxQueue', DEFAULTS.bus.maxQueue) as number,
      maxRetryDelay: parseDuration(busInput.maxRetryDelay ?? DEFAULTS.bus.maxRetryDelay, 'bus.maxRetryDelay'),
      heartbeat: parseDuration(busInput.heartbeat ?? DEFAULTS.bus.heartbeat, 'bus.heartbeat', true),
      sharded: shardedBus(busInput.sharded, options.redis),
    }
  } else if (options.bus !== undefined && options.bus !== false) {
    throw new TypeError('`bus` needs Redis: pass `redis` (a URL, client or options), or `bus: false`')
  }

  let codec: Codec
  if ((options.codec ?? DEFAULTS.codec) === 'msgpack') codec = msgpackCodec()
  else if (options.codec === 'json') codec = jsonCodec()
  else if (isCodec(options.codec)) codec = options.codec
  else
    throw new TypeError(
      `Expected \`codec\` to be 'msgpack', 'json' or an object with encode and decode, got ${describe(options.codec)}`,
    )

  const prefix = options.prefix ?? DEFAULTS.prefix
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.includes('::'))
    throw new TypeError(`Expected \`prefix\` to be a non-empty string without '::', got ${describe(prefix)}`)
  const namespace = checkNamespace(options.namespace ?? DEFAULTS.namespace)
  const maxValueBytes = positiveInteger(options.maxValueBytes, 'maxValueBytes', DEFAULTS.maxValueBytes) as number
  const maxKeyBytes = positiveInteger(options.maxKeyBytes, 'maxKeyBytes', DEFAULTS.maxKeyBytes) as number

  // Last: the clients it creates are not closed by anyone if an option checked after them throws.
  const l2 = options.l2 !== false && options.redis !== undefined ? resolveL2(options.redis, options.l2) : undefined

  return { namespace, prefix, ttl, l1, l2, bus, codec, maxValueBytes, maxKeyBytes }
}
