/**
 * Stale values within grace (`getOrSet`'s `grace`): the one L1 still holds past its logical expiry, and serving it
 * (counted and announced with `stale:served`).
 * @internal
 */
import type { CacheError } from '../errors.js'
import { bump, type StaleReason } from '../observability/stats.js'
import type { Scope } from './context.js'

/** A value past its logical expiry but within grace. */
export interface Stale {
  value: unknown
}

/** The value L1 keeps past its logical expiry (within grace), unless the L1 gate refuses it. */
export function staleInL1(scope: Scope, key: string): Stale | undefined {
  const entry = scope.l1?.get(key)
  if (entry === undefined || entry.reviewAt === undefined || entry.expiresAt === 0 || entry.expiresAt > Date.now())
    return undefined
  const gate = scope.ctx.l1Gate
  return gate === undefined || gate(entry) ? { value: entry.value } : undefined
}

/** Answers with a stale value, counted by `reason` and announced with `stale:served`. */
export function serveStale<T>(scope: Scope, key: string, stale: Stale, reason: StaleReason, error?: CacheError): T {
  bump(scope.ctx.counters.staleServed, reason)
  scope.ctx.events.emit('stale:served', {
    namespace: scope.namespace,
    key,
    reason,
    ...(error !== undefined && { error }),
  })
  return stale.value as T
}
