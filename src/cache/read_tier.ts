/**
 * `cache.get(key)` that also says which tier answered, for HTTP caching's `X-Cache: HIT-L1 | HIT-L2`.
 * It reads through `get` itself, so L1 gating (bus down), grace, tags and promotion apply unchanged:
 * `get` answers from L1 synchronously, counting the hit, before its first `await`, so a change of
 * the L1 hit counter across the call means L1 answered; any other value came from L2.
 * @internal
 */
import type { Cache } from './cache.js'
import { scopeOf } from './internals.js'

/** A value `get` found, and the tier that answered. */
export interface TieredValue<T> {
  value: T
  tier: 'l1' | 'l2'
}

/** `cache.get(key)`, with the tier that answered; `undefined` on a miss. */
export async function getWithTier<T = unknown>(cache: Cache, key: string): Promise<TieredValue<T> | undefined> {
  const counters = scopeOf(cache).ctx.counters
  const before = counters.l1Hits
  const pending = cache.get<T>(key)
  const tier = counters.l1Hits === before ? 'l2' : 'l1'
  const value = await pending
  return value === undefined ? undefined : { value, tier }
}
