import type { CircuitState } from '../redis/circuit_breaker.js'

/** A snapshot of what a cache (and its namespaces, which share counters) has done. */
export interface CacheStats {
  l1: { hits: number; misses: number; entries: number; bytes: number } | null
  l2: { hits: number; misses: number; errors: number; circuit: CircuitState } | null
  /** Values found in Redis that could not be decoded. */
  decodeErrors: number
  factory: { calls: number; errors: number }
  writes: number
  deletes: number
}

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
}
