/**
 * `expire` and `clear`: the two writes that change what is there without writing a value. Each is announced with
 * its Redis write (expire: one Lua call; clear: after its SCAN and DELs, acknowledged) so every node drops the keys.
 * @internal
 */
import type { Scope } from './context.js'
import { writeToL2 } from './l2_write.js'
import { announceFor, dropLocal } from './write_path.js'

/** Gives an existing entry a new time to live (`ms` from now). Resolves with whether the key existed. */
export async function expireEntry(scope: Scope, k: string, key: string, ms: number): Promise<boolean> {
  const { ctx, l1 } = scope
  const expiresAt = Date.now() + ms
  if (ctx.l2 === undefined) {
    const hit = l1?.get(key)
    if (hit === undefined || l1 === undefined) return false
    l1.set(key, { ...hit, expiresAt }, ms, l1.sizeOf(key))
    return true
  }
  await ctx.startup // until this node hears invalidations (bounded)
  const drop = (): void => dropLocal(scope, [{ k, key }])
  // The new expiry and its announcement are one Lua call: if it lands late, it announces itself.
  const existed = await writeToL2(
    ctx,
    { operation: 'expire', key, throws: 'onWriteError', beforeThrow: drop, fallback: () => (drop(), false) },
    (tier) => tier.expire(k, expiresAt, ms, announceFor(ctx)),
  )
  drop()
  return existed
}

/** Removes every key of the scope's namespace (not of child namespaces) from Redis (SCAN, never KEYS) and L1. */
export async function clearScope(scope: Scope): Promise<void> {
  const { ctx, l1, prefix, namespace } = scope
  ctx.fences.invalidateAll()
  l1?.clear()
  let deleted = 0
  if (ctx.l2 !== undefined) {
    await ctx.startup // until this node hears invalidations (bounded)
    // Entries and their leases go (fills in flight anywhere can no longer be written), then the clear is
    // announced; it resolves only once both are done. If it fails half-way, the announcement is retried.
    deleted = await writeToL2(
      ctx,
      {
        operation: 'clear',
        throws: 'onWriteError',
        announce: () => ctx.announcer?.prefixCleared(prefix),
        fallback: () => 0,
      },
      async (tier) => {
        const count = await tier.deleteMatching(prefix)
        const announcer = ctx.announcer
        if (announcer !== undefined) await tier.publish(announcer.clearMessage(prefix))
        return count
      },
    )
    // Reads in flight during the scan may have promoted keys since: drop them too.
    ctx.fences.invalidateAll()
    l1?.clear()
  }
  ctx.events.emit('cleared', { namespace, deleted })
}
