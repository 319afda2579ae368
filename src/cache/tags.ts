/**
 * Tags: `invalidateTags(tags)` makes every entry written with one of them (before the call) a
 * miss, on every node and in Redis, without scanning the keyspace (ARCHITECTURE.md, "Tags").
 *
 * - In Redis, one small key per tag, `{<prefix>:<namespace>}:tag:<tag>`, holds when the tag was
 *   last invalidated (ms since the epoch, sub-ms resolution: see internal/clock.ts). All tags of a
 *   namespace share one hash tag, so on a Cluster they live in one slot and one MGET reads any
 *   number of them.
 * - A tagged write makes sure its tag keys exist (a creation mark `c<time>`, just before the entry was made), so a
 *   tag key that is missing later was evicted or deleted: its entries fail closed (a miss), since
 *   whether they were invalidated can no longer be told. A tag key holding anything but a time is
 *   garbage: a miss plus a `decode:error` event.
 * - Tagged entries carry their creation time in the envelope. An L2 read that finds a tagged
 *   entry reads its tags' times (one extra round trip, however many tags, and none for untagged
 *   entries) and treats an entry made at or before one of them as a miss.
 * - `invalidateTags` records the times and announces them in one Lua call, so it resolves only
 *   once every node has been told. In L1, the invalidating node drops its entries carrying the
 *   tags; the others do when they hear it. Reads and fills in flight whose result carries one of the
 *   tags are fenced: they are not installed in L1 (fences.ts, `validFor`, once their tags are known).
 * @internal
 */
import { peekTags } from '../codec/envelope.js'
import { DecodeError } from '../errors.js'
import { stamp } from '../internal/clock.js'
import type { CacheContext, Scope } from './context.js'
import { writeToL2 } from './l2_write.js'

/** The Redis key recording when `tag` of `namespace` was last invalidated. */
export function tagKey(prefix: string, namespace: string, tag: string): string {
  return `{${prefix}:${namespace}}:tag:${tag}`
}

/** Records the invalidation in Redis and tells the other nodes (one Lua call), and drops tagged entries from L1. */
export async function invalidateTags(scope: Scope, tags: readonly string[]): Promise<void> {
  const { ctx, namespace } = scope
  const unique = [...new Set(tags)]
  if (unique.length === 0) return
  if (ctx.l2 !== undefined) {
    const drop = (): void => dropTagged(ctx, scope, unique)
    const keys = unique.map((tag) => tagKey(ctx.options.prefix, namespace, tag))
    // If the call times out but lands later, its own announcement goes with it.
    const written = await writeToL2(
      ctx,
      { operation: 'invalidateTags', throws: 'onWriteError', beforeThrow: drop, fallback: () => (drop(), false) },
      async (tier) => {
        await tier.invalidateTags(keys, stamp(), ctx.announcer?.tagsMessage(scope.prefix, unique))
        return true
      },
    )
    if (!written) return
  }
  dropTagged(ctx, scope, unique)
  ctx.events.emit('tags:invalidated', { namespace, tags: unique })
}

function dropTagged(ctx: CacheContext, scope: Scope, tags: readonly string[]): void {
  ctx.fences.invalidateTags(scope.prefix, tags)
  scope.l1?.deleteTagged(new Set(tags))
}

/**
 * Used by every L2 read of tagged entries: replaces with `null` every raw entry made at or before the last
 * invalidation of one of its tags, or whose tag state cannot be established (a tag key missing or garbage: fail
 * closed). One MGET for all the tags of all the entries (one slot per namespace on a Cluster).
 * @param keys the caller's keys of `raws`, for the `decode:error` events of garbage tag keys.
 */
export async function filterByTags(
  scope: Scope,
  raws: ReadonlyArray<Buffer | null>,
  keys: readonly string[],
): Promise<Array<Buffer | null>> {
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
  const times = (await ctx.l2.mget([...index.keys()])).map(invalidationTime)
  return raws.map((raw, i) => {
    const peek = peeks[i]
    if (peek === undefined) return raw
    for (const tag of peek.tags) {
      const invalidatedAt = times[index.get(tagKey(ctx.options.prefix, namespace, tag)) as number]
      if (invalidatedAt === 'garbage') {
        ctx.counters.decodeErrors++
        const error = new DecodeError(keys[i] as string, `tag "${tag}" holds something that is not a time`)
        ctx.events.emit('decode:error', { namespace, key: keys[i] as string, error })
      }
      // Missing (evicted) or garbage: whether the entry was invalidated cannot be told, so it is not served.
      if (typeof invalidatedAt !== 'number' || invalidatedAt >= peek.createdAt) return null
    }
    return raw
  })
}

/**
 * A tag key's value: the time of its last invalidation (`<time>`, or `c<time>` for a key created by a write, before
 * which entries are misses all the same), 'missing' or 'garbage'.
 */
export function invalidationTime(value: Buffer | null | undefined): number | 'missing' | 'garbage' {
  if (value === null || value === undefined) return 'missing'
  const text = value.toString('latin1', value[0] === 0x63 /* c */ ? 1 : 0)
  const time = Number(text)
  return text.length > 0 && text.length <= 32 && Number.isFinite(time) && time >= EARLIEST_TIME ? time : 'garbage'
}

/**
 * No tag time tiercache writes is older than this (2001-09-09): a smaller number is garbage that happens to parse
 * (a stray digit read as a time near 1970 would let every entry of the tag pass, invalidated or not).
 */
const EARLIEST_TIME = 1e12
