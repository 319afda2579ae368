import type { CircuitState } from '../redis/circuit_breaker.js'

/** A snapshot of what a cache (and its namespaces, which share counters) has done. */
export interface CacheStats {
  /** L1 lookups, its size and how many entries the LRU bound pushed out (`evictions`). */
  l1: { hits: number; misses: number; entries: number; bytes: number; evictions: number } | null
  l2: { hits: number; misses: number; errors: number; circuit: CircuitState } | null
  /** Values found in Redis that could not be decoded. */
  decodeErrors: number
  factory: { calls: number; errors: number }
  /** Stale values `getOrSet` returned within `grace` (every reason of the `stale:served` event). */
  staleServed: number
  /** `lock: true` callers that waited for another process's factory, and those whose wait timed out. */
  locks: { waits: number; timeouts: number }
  writes: number
  deletes: number
}

/** Why `getOrSet` served a stale value (the `reason` of `stale:served`). */
export type StaleReason = 'factory-error' | 'soft-timeout' | 'hard-timeout' | 'lock-held' | 'refreshing'

/** Live counters; plain integer fields so counting costs next to nothing. @internal */
export class Counters {
  l1Hits = 0
  l1Misses = 0
  l2Hits = 0
  l2Misses = 0
  l2Errors = 0
  decodeErrors = 0
  factoryCalls = 0
  factoryErrors = 0
  writes = 0
  deletes = 0
  lockWaits = 0
  lockTimeouts = 0
  /** Stale values served, by reason (off the hot path: only `getOrSet`'s fallbacks count here). */
  readonly staleServed = new Map<StaleReason, number>()
  /** Failed Redis commands by operation (`get`, `set`, `lease`…), and those of them that timed out. */
  readonly l2ErrorsByOperation = new Map<string, number>()
  readonly l2TimeoutsByOperation = new Map<string, number>()
}

/** Adds one to `map[name]`. @internal */
export function bump<K>(map: Map<K, number>, name: K): void {
  map.set(name, (map.get(name) ?? 0) + 1)
}

/** What the invalidation bus of a cache has seen. @internal */
export interface BusStats {
  /** The subscription is confirmed: this node hears every invalidation. */
  up: boolean
  /** Time since the subscriber connection last heard anything (a message or a heartbeat reply); null before. */
  lastMessageAgeMs: number | null
  /** Times the subscription was lost (and then set up again) since the start. */
  reconnects: number
  /** Round trip of the last heartbeat PING on the subscriber connection: how late invalidations arrive, at least. */
  heartbeatMs: number | null
  /** Invalidations waiting to be published again. */
  pending: number
  /** Invalidation messages handed to Redis (with a write's own Lua call, or on their own). */
  published: number
  /** Messages from other nodes applied to this node's L1. */
  received: number
  /** Messages ignored (`malformed`) or given up (`closed`: not yet published when the cache closed). */
  dropped: Map<'malformed' | 'closed', number>
}
