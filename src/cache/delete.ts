/**
 * `delete` and `deleteMany`: one Lua call drops the keys (and their leases) in Redis and carries the announcement;
 * then this node's L1 drops them.
 * @internal
 */
import type { Scope } from './context.js'
import { writeToL2 } from './l2_write.js'
import { announceFor, dropLocal } from './write_path.js'

/** Deletes validated keys (`k`: the full Redis key); resolves with how many existed. */
export async function deleteEntries(scope: Scope, items: ReadonlyArray<{ k: string; key: string }>): Promise<number> {
  const { ctx } = scope
  let existed = 0
  if (ctx.l2 !== undefined) {
    await ctx.startup // until this node hears invalidations (bounded)
    const ks = items.map((item) => item.k)
    const drop = (): void => dropLocal(scope, items)
    // No separate announcement on failure: the Lua call carries it, so if it lands late it announces itself.
    existed = await writeToL2(
      ctx,
      { operation: 'delete', throws: 'onWriteError', beforeThrow: drop, fallback: () => (drop(), -1) },
      (tier) => tier.del(ks, announceFor(ctx)),
    )
    if (existed < 0) return 0
  } else {
    for (const item of items) if (scope.l1?.get(item.key) !== undefined) existed++
  }
  dropLocal(scope, items)
  ctx.counters.deletes += items.length
  ctx.events.emit('deleted', { namespace: scope.namespace, keys: items.map((item) => item.key) })
  return existed
}
