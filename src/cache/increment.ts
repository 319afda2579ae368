/**
 * Counters (`incr`/`decr`): atomic in Redis when there is one (never falling back to L1: a counter
 * only one server sees is what they exist to avoid), in L1 when the cache has no Redis.
 * @internal
 */
import { NotACounterError } from '../errors.js'
import type { MemoryTier } from '../tiers/memory_tier.js'
import type { Scope } from './context.js'
import { writeToL2 } from './l2_write.js'
import { announceFor, dropLocal } from './write_path.js'

export async function incrementShared(scope: Scope, k: string, key: string, by: number, ttl: number): Promise<number> {
  const { ctx } = scope
  const drop = (): void => dropLocal(scope, [{ k, key }])
  // The increment and its announcement are one Lua call: if it lands late, it announces itself.
  const value = await writeToL2(
    ctx,
    { operation: 'incr', key, throws: 'always', beforeThrow: drop, fallback: () => 0 },
    (tier) => tier.incr(k, by, ttl, announceFor(ctx)),
  )
  drop()
  return value
}

export function incrementLocal(l1: MemoryTier, key: string, by: number, ttl: number): number {
  const hit = l1.get(key)
  const current = hit === undefined ? 0 : hit.value
  if (typeof current !== 'number' || !Number.isSafeInteger(current)) throw new NotACounterError(key)
  const remaining = hit === undefined ? ttl : l1.remainingTtl(key)
  const now = Date.now()
  const next = current + by
  l1.set(
    key,
    {
      value: next,
      expiresAt: hit === undefined ? now + ttl : hit.expiresAt,
      tags: undefined,
      installedAt: now,
      checksum: 0,
    },
    Number.isFinite(remaining) ? remaining : 0,
    8,
  )
  return next
}
