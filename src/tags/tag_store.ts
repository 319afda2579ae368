/**
 * Tags: `invalidateTags(tags)` makes every entry written with one of them (before the call) a
 * miss, on every node and in Redis, without scanning the keyspace.
 *
 * - In Redis, one small key per tag, `{<prefix>:<namespace>}:tag:<tag>`, holds when the tag was
 *   last invalidated (ms since the epoch, sub-ms resolution: see internal/clock.ts). All tags of a namespace share one hash tag, so on a
 *   Cluster they live in one slot and one MGET reads any number of them.
 * - Tagged entries carry their creation time in the envelope. An L2 read that finds a tagged
 *   entry reads its tags' times (one extra round trip, however many tags, and none for untagged
 *   entries) and treats an entry made at or before one of them as a miss.
 * - In L1, the invalidating node drops its entries carrying the tags, then the bus tells every
 *   other node to do the same. Reads in flight are fenced (a global fence move: tag
 *   invalidations are rare, and a read cannot know its entry's tags before it has read it).
 * @internal
 */
import { peekTags } from '../codec/envelope.js'
import { stamp } from '../internal/clock.js'
import type { CacheContext, Scope } from '../cache/context.js'
import { reportL2Error } from '../cache/read_path.js'
import { mayHaveLanded } from '../cache/write_path.js'

/** The Redis key recording when `tag` of `namespace` was last invalidated. */
export function tagKey(prefix: string, namespace: string, tag: string): string {
  return `{${prefix}:${namespace}}:tag:${tag}`
}

/** Records the invalidation in Redis, drops tagged entries from this node's L1, and tells the other nodes. */
export async function invalidateTags(scope: Scope, tags: readonly string[]): Promise<void> {
  const { ctx, namespace } = scope
  const unique = [...new Set(tags)]
  if (unique.length === 0) return
  const l2 = ctx.l2
  if (l2 !== undefined) {
    const at = Buffer.from(String(stamp()))
    try {
      await l2.setMany(unique.map((tag) => ({ key: tagKey(ctx.options.prefix, namespace, tag), bytes: at, px: 0 })))
    } catch (error) {
      dropTagged(ctx, scope, unique)
      reportL2Error(ctx, 'invalidateTags', undefined, error)
      if (mayHaveLanded(error)) ctx.announcer?.tagsInvalidated(scope.prefix, unique)
      if (ctx.options.l2?.onWriteError === 'throw') throw error
      return
    }
  }
  dropTagged(ctx, scope, unique)
  if (l2 !== undefined) ctx.announcer?.tagsInvalidated(scope.prefix, unique)
  ctx.events.emit('tags:invalidated', { namespace, tags: unique })
}

function dropTagged(ctx: CacheContext, scope: Scope, tags: readonly string[]): void {
  ctx.fences.invalidateAll()
  scope.l1?.deleteTagged(new Set(tags))
}

/**
 * The context's `tagFilter`: replaces with `null` every raw entry made at or before the last invalidation of one
 * of its tags. One MGET for all the tags of all the entries (one slot per namespace on a Cluster).
 */
export async function filterByTags(scope: Scope, raws: ReadonlyArray<Buffer | null>): Promise<Array<Buffer | null>> {
  const { ctx, namespace } = scope
  const peeks = raws.map((raw) => (raw === null ? undefined : peekTags(raw)))
  const index = new Map<string, number>()
  for (const peek of peeks) {
    if (peek === undefined) continue
    for (const tag of peek.tags) {
      const key = tagKey(ctx.options.prefix, namespace, tag)
      if (!index.has(key)) index.set(key, index.size)
    }
  }
  if (index.size === 0 || ctx.l2 === undefined) return [...raws]
  const values = await ctx.l2.mget([...index.keys()])
  const times = values.map((value) => (value === null ? -1 : Number(value.toString('latin1'))))
  return raws.map((raw, i) => {
    const peek = peeks[i]
    if (peek === undefined) return raw
    for (const tag of peek.tags) {
      const invalidatedAt = times[index.get(tagKey(ctx.options.prefix, namespace, tag)) as number] as number
      if (invalidatedAt >= peek.createdAt) return null
    }
    return raw
  })
}
