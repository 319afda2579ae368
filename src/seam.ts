/**
 * The seam: what the parts built on the core (wrappers, sessions, warming, HTTP caching, health,
 * metrics, the commands) may use besides the public API (src/index.ts). Nothing else of the core
 * is imported outside it. See ARCHITECTURE.md, "The seam".
 *
 * - Redis: {@link RedisConnection} runs every command with a timeout, a circuit breaker and coded
 *   errors; `openRedis` opens one from a `redis` option (URL, client or ioredis options) for a
 *   subsystem with its own connection (sessions), `redisOf(cache)` lends the cache's own (warming).
 * - Keys: `redisKeyOf(cache, key)` is the Redis key a cache reads for `key`; `redisPrefixOf(cache)`
 *   starts every key of its namespace.
 * - Leases: `tryLock`, `renewLock`, `unlock` (SET NX PX with a token; compare-and-set Lua).
 * - Reads: `getWithTier(cache, key)` is `cache.get(key)` plus which tier answered (`'l1'` or `'l2'`).
 * - Observation: `observe(cache)` is a live view of its counters, L1, circuit and bus (metrics exporters).
 * - Helpers every subsystem validates with: `parseDuration`, `describe`, `DEFAULTS`, and
 *   `checkGetOrSetOptions` (throws what `getOrSet` would for bad options, before any call).
 * @internal
 */
import type { Cache } from './cache/cache.js'
import { DEFAULTS } from './cache/defaults.js'
import { resolveFill } from './cache/fill_options.js'
import { scopeOf } from './cache/internals.js'
import { observe as observeContext, type CacheObservation } from './cache/introspection.js'
import type { GetOrSetOptions } from './cache/options.js'
import { isWellFormed, notWellFormed } from './internal/well_formed.js'
import { describe } from './internal/describe.js'
import { parseDuration } from './internal/duration.js'
import type { ConnectionSettings, RedisConnection } from './redis/connection.js'

export {
  RedisConnection,
  Script,
  openRedis,
  resolveClient,
  isClusterClient,
  isRedisClient,
  isReplyError,
  type ConnectionHooks,
  type ConnectionSettings,
  type RedisClient,
  type RedisInput,
} from './redis/connection.js'
export type { CircuitState } from './redis/circuit_breaker.js'
export { tryLock, renewLock, unlock, type HeldLock } from './locks/redis_lock.js'
export { parseDuration, type Duration } from './internal/duration.js'
export { describe } from './internal/describe.js'
export { publishEvent } from './observability/events.js'
export { DEFAULTS } from './cache/defaults.js'
export { getWithTier, type TieredValue } from './cache/read_tier.js'
export type { CacheObservation } from './cache/introspection.js'
export type { BusStats } from './observability/stats.js'

/** A live view of a cache's counters, L1, circuit and bus, for exporters that read at scrape time. */
export function observe(cache: Cache): CacheObservation {
  return observeContext(scopeOf(cache).ctx)
}

/**
 * The cache's Redis connection (its timeout and circuit breaker, shared with the cache), or undefined without
 * Redis.
 */
export function redisOf(cache: Cache): RedisConnection | undefined {
  return scopeOf(cache).ctx.connection
}

/** The Redis key `cache.get(key)` reads: `<prefix>:<namespace>::<key>`. */
export function redisKeyOf(cache: Cache, key: string): string {
  if (typeof key !== 'string' || key.length === 0)
    throw new TypeError(`Expected \`key\` to be a non-empty string, got ${describe(key)}`)
  if (!isWellFormed(key)) throw notWellFormed('key', key)
  return scopeOf(cache).prefix + key
}

/** The start of every Redis key of the cache's namespace (`<prefix>:<namespace>::`), for SCAN patterns. */
export function redisPrefixOf(cache: Cache): string {
  return scopeOf(cache).prefix
}

/**
 * Connection settings for a subsystem that opens its own connection, from the same defaults as the cache's
 * (`l2.timeout` 500 ms, breaker 5 failures / 1 s). Durations as elsewhere (`'200ms'` or ms).
 * @throws TypeError naming the option when a value is invalid.
 */
export function connectionSettings(
  input: { timeout?: unknown; breaker?: { threshold?: unknown; cooldown?: unknown } } = {},
  name = 'timeout',
): ConnectionSettings {
  const threshold = input.breaker?.threshold ?? DEFAULTS.l2.breaker.threshold
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1)
    throw new TypeError(`Expected \`breaker.threshold\` to be a whole number from 1 and up, got ${describe(threshold)}`)
  return {
    timeout: parseDuration(input.timeout ?? DEFAULTS.l2.timeout, name, true),
    breakerThreshold: threshold,
    breakerCooldown: parseDuration(input.breaker?.cooldown ?? DEFAULTS.l2.breaker.cooldown, 'breaker.cooldown'),
  }
}

/** Throws the `TypeError` `getOrSet` would throw for `options`, without a call (wrappers validate when created). */
export function checkGetOrSetOptions(options: GetOrSetOptions<never> | undefined): void {
  resolveFill(1, options)
}
