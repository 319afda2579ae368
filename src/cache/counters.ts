/**
 * Counters (`incr`/`decr`): atomic in Redis when there is one (never falling back to L1: a counter
 * only one server sees is what they exist to avoid), in L1 when the cache has no Redis.
 * @internal
 */
import { NotACounterError } from '../errors.js'
import type { MemoryTier } from '../tiers/memory_tier.js'
import type { Scope } from './context.js'
import { dropLocal, mayHaveLanded } from './write_path.js'

export async function incrementShared(scope: Scope, k: string, key: string, by: number, ttl: number): Promise<number> {
  const { ctx } = scope
  const l2 = ctx.l2 as NonNullable<typeof ctx.l2>
  let value: number
  try {
    value = await l2.incr(k, by, ttl)
  } catch (error) {
    dropLocal(scope, [{ k, key }])
    if (mayHaveLanded(error)) ctx.announcer?.keysChanged([k])
    throw error
  }
  dropLocal(scope, [{ k, key }])
  ctx.announcer?.keysChanged([k])
  return value
}

export function incrementLocal(l1: MemoryTier, key: string, by: number, ttl: number): number {
  const hit = l1.get(key)
  const current = hit === undefined ? 0 : hit.v
  if (typeof current !== 'number' || !Number.isSafeInteger(current)) throw new NotACounterError(`Key "${key}" does not hold an integer counter`)
  const remaining = hit === undefined ? ttl : l1.remainingTtl(key)
  const now = Date.now()
  const next = current + by
  l1.set(key, { v: next, e: hit === undefined ? now + ttl : hit.e, t: undefined, at: now }, Number.isFinite(remaining) ? remaining : 0, 8)
  return next
}
