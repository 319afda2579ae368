/**
 * The events every path of the core reports through: Redis failures (counted, then `l2:error`) and
 * misses (`miss`, built only when someone listens).
 * @internal
 */
import { CacheError, L2TimeoutError } from '../errors.js'
import { bump } from '../observability/stats.js'
import { wrapError } from '../redis/connection.js'
import type { CacheContext } from './context.js'

/** Counts a failed Redis command and emits `l2:error` (a coded error: anything else is wrapped). */
export function reportL2Error(ctx: CacheContext, operation: string, key: string | undefined, error: unknown): void {
  const counters = ctx.counters
  counters.l2Errors++
  bump(counters.l2ErrorsByOperation, operation)
  if (error instanceof L2TimeoutError) bump(counters.l2TimeoutsByOperation, operation)
  const wrapped = error instanceof CacheError ? error : wrapError(operation, error)
  ctx.events.emit('l2:error', { operation, key, error: wrapped })
}

/** Emits `miss` when someone listens (the payload is not even built otherwise). */
export function emitMiss(ctx: CacheContext, namespace: string, key: string): void {
  if (ctx.events.hitMissWatched) ctx.events.emit('miss', { namespace, key })
}
