/**
 * The options of `createCache` and of each call, with their TSDoc (every `@default` is a value of
 * {@link DEFAULTS}), and their resolution: validated once, into `ResolvedOptions`.
 */
import { isCodec, jsonCodec, msgpackCodec, type Codec } from '../codec/codec.js'
import { describe } from '../internal/describe.js'
import { parseDuration, type Duration } from '../internal/duration.js'
import { checkKnownOptions } from '../internal/known_options.js'
import { resolveClient, type RedisClient, type RedisInput } from '../redis/connection.js'
import { DEFAULTS } from './defaults.js'

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

/** What `set`/`delete`/`clear` do when Redis fails. */
export type WriteErrorPolicy = 'throw' | 'local'

/** L2 (Redis) settings. */
export interface L2Options {
  /**
   * Per-command timeout. A command that takes longer fails with `L2TimeoutError`; reads treat it as a miss.
   * @default 500 (ms)
   */
  timeout?: Duration
  /**
   * When a write cannot reach Redis:
   * - `'throw'`: `set`, `setMany`, `delete`, `deleteMany`, `expire` and `clear` reject with the L2 error, and
   *   this node drops the key from its L1 (Redis' state is unknown, so L1 must not keep answering for it).
   * - `'local'`: the write resolves after updating L1 only, kept for at most `localTtl`, and emits
   *   `write:degraded`. Other nodes do not see it.
   * `getOrSet` always returns the factory's value; if writing it to Redis fails, it is kept in L1 for at most
   * `localTtl` (so an outage does not send every request to the factory) and `write:degraded` is emitted.
   * @default 'throw'
   */
  onWriteError?: WriteErrorPolicy
  /**
   * How long a value that reached L1 but not Redis may be served from L1.
   * @default '5s'
   */
  localTtl?: Duration
  /** Circuit breaker in front of Redis. */
  breaker?: {
    /**
     * Consecutive failures (timeouts, connection errors) that open the circuit; while open, commands fail at
     * once with `L2UnavailableError` instead of waiting for the timeout.
     * @default 5
     */
    threshold?: number
    /**
     * How long the circuit stays open before commands are tried again.
     * @default '1s'
     */
    cooldown?: Duration
  }
}

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
  l2:
    | {
        client: RedisClient
        owned: boolean
        timeout: number
        onWriteError: WriteErrorPolicy
        localTtl: number
        breakerThreshold: number
        breakerCooldown: number
      }
    | undefined
  bus: { maxStaleness: number; maxQueue: number; maxRetryDelay: number; heartbeat: number } | undefined
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

function positiveInteger(value: unknown, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`Expected \`${name}\` to be a whole number from 1 and up, got ${describe(value)}`)
  return value
}

function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`)
  return value as Record<string, unknown>
}

/** The names each options object accepts (anything else is a TypeError naming the nearest). */
const KNOWN = {
  cache: ['redis', 'namespace', 'prefix', 'ttl', 'l1', 'l2', 'bus', 'codec', 'maxValueBytes', 'maxKeyBytes'],
  l1: ['maxEntries', 'maxBytes', 'ttl'],
  l2: ['timeout', 'onWriteError', 'localTtl', 'breaker'],
  breaker: ['threshold', 'cooldown'],
  bus: ['maxStaleness', 'maxQueue', 'maxRetryDelay', 'heartbeat'],
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

  let l2: ResolvedOptions['l2']
  if (options.l2 !== false && options.redis !== undefined) {
    const l2Input = options.l2 === undefined ? {} : (plainObject(options.l2, 'l2') as L2Options)
    const onWriteError = l2Input.onWriteError ?? DEFAULTS.l2.onWriteError
    if (onWriteError !== 'throw' && onWriteError !== 'local')
      throw new TypeError(`Expected \`l2.onWriteError\` to be 'throw' or 'local', got ${describe(onWriteError)}`)
    checkKnownOptions(l2Input, KNOWN.l2, 'l2.')
    const breaker = l2Input.breaker === undefined ? {} : plainObject(l2Input.breaker, 'l2.breaker')
    checkKnownOptions(breaker, KNOWN.breaker, 'l2.breaker.')
    const timeout = parseDuration(l2Input.timeout ?? DEFAULTS.l2.timeout, 'l2.timeout', true)
    const localTtl = parseDuration(l2Input.localTtl ?? DEFAULTS.l2.localTtl, 'l2.localTtl')
    const breakerThreshold = positiveInteger(
      breaker.threshold,
      'l2.breaker.threshold',
      DEFAULTS.l2.breaker.threshold,
    ) as number
    const breakerCooldown = parseDuration(breaker.cooldown ?? DEFAULTS.l2.breaker.cooldown, 'l2.breaker.cooldown')
    l2 = { ...resolveClient(options.redis), timeout, onWriteError, localTtl, breakerThreshold, breakerCooldown }
  } else if (options.l2 !== undefined && options.l2 !== false) {
    throw new TypeError(
      '`l2` options were given without `redis`: pass `redis` (a URL, client or options), or `l2: false`',
    )
  }

  if (l1 === undefined && l2 === undefined)
    throw new TypeError('A cache needs at least one tier: `l1` is false and no `redis` is given')

  let bus: ResolvedOptions['bus']
  if (options.bus !== undefined && options.bus !== true && options.bus !== false) plainObject(options.bus, 'bus')
  if (options.bus !== false && l2 !== undefined) {
    const busInput = typeof options.bus === 'object' ? options.bus : {}
    checkKnownOptions(busInput, KNOWN.bus, 'bus.')
    bus = {
      maxStaleness: parseDuration(busInput.maxStaleness ?? DEFAULTS.bus.maxStaleness, 'bus.maxStaleness', true),
      maxQueue: positiveInteger(busInput.maxQueue, 'bus.maxQueue', DEFAULTS.bus.maxQueue) as number,
      maxRetryDelay: parseDuration(busInput.maxRetryDelay ?? DEFAULTS.bus.maxRetryDelay, 'bus.maxRetryDelay'),
      heartbeat: parseDuration(busInput.heartbeat ?? DEFAULTS.bus.heartbeat, 'bus.heartbeat', true),
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

  return {
    namespace: checkNamespace(options.namespace ?? DEFAULTS.namespace),
    prefix,
    ttl,
    l1,
    l2,
    bus,
    codec,
    maxValueBytes: positiveInteger(options.maxValueBytes, 'maxValueBytes', DEFAULTS.maxValueBytes) as number,
    maxKeyBytes: positiveInteger(options.maxKeyBytes, 'maxKeyBytes', DEFAULTS.maxKeyBytes) as number,
  }
}
