/**
 * The harness side of the cache workload: a steady mix of reads (get, getMany, getOrSet backed by the source of
 * truth) and writes (set, delete, invalidateTags) over a fixed set of keys grouped by tag. A writer bumps the
 * truth first and then writes the cache, holding the keys' write locks (see truth.ts); every read is checked.
 * Each operation is given its documented bound (see `bounds`), from the cache's defaults.
 */
import type { StepContext, Driver } from '../../workload.js'
import type { NodeHandle } from '../../node_handle.js'
import { entryKey, tagKey } from './redis_keys.js'
import type { Observation } from './values.js'

export interface CacheWorkloadConfig {
  /** Keys `k:0` … `k:<keys - 1>`. */
  keys: number
  /** Keys `k:0` … `k:<hotKeys - 1>` get `hotShare` of the operations; the others sit in L1 mostly unchanged. */
  hotKeys: number
  hotShare: number
  /** Key `k:i` carries tag `g:<i % groups>`. */
  groups: number
  /** `l2.timeout` of the nodes' caches (ms): the bounds are built from it. */
  l2TimeoutMs: number
  /** Share of getOrSet calls made with `lock: true`. */
  lockShare: number
  lockTimeoutMs: number
  /** Longest delay of a factory's read of the truth (ms): the window in which fills race writes. */
  maxDbDelayMs: number
}

/** The documented bound of each operation (README "When Redis is down or slow"; issue 10 on getOrSet). */
export function bounds(config: CacheWorkloadConfig): Record<string, number> {
  const t = config.l2TimeoutMs
  return {
    // A GET (coalesced into an MGET), then one MGET of the entry's tags when it carries tags.
    get: 2 * t,
    getMany: 2 * t,
    // One Lua call: the write (or delete, or tag times) and its announcement.
    set: t,
    delete: t,
    invalidateTags: t,
    // The read with its lease, the tag check, the factory, the fill: each Redis step has its own timeout.
    getOrSet: 3 * t + config.maxDbDelayMs,
    // Waiting for another process's lock is bounded by lockTimeout; then it reads and fills as above.
    getOrSetLocked: config.lockTimeoutMs + 5 * t + config.maxDbDelayMs,
  }
}

export const keyName = (i: number): string => `k:${i}`

/** How far the nodes' clocks (their tag times) may be from the harness's on one host, in ms. */
const CLOCK_SLACK_MS = 5

export class CacheDriver implements Driver {
  readonly name = 'cache'
  readonly bounds: Record<string, number>

  constructor(readonly config: CacheWorkloadConfig) {
    this.bounds = bounds(config)
  }

  groupOf(i: number): string {
    return `g:${i % this.config.groups}`
  }

  /** TTL of key `i`: one key in fifty lives 3 s, so expiry happens under the faults too. */
  ttlOf(i: number): number {
    return i % 50 === 0 ? 3000 : 600_000
  }

  keysOfGroup(group: string): string[] {
    const out: string[] = []
    for (let i = 0; i < this.config.keys; i++) if (this.groupOf(i) === group) out.push(keyName(i))
    return out
  }

  /** A key index: one of the hot keys with probability `hotShare`, else one of the others. */
  pickKey(ctx: StepContext): number {
    const { keys, hotKeys, hotShare } = this.config
    return ctx.rng.chance(hotShare) ? ctx.rng.int(hotKeys) : hotKeys + ctx.rng.int(keys - hotKeys)
  }

  /** The mix: 85% reads (get 45, getMany 10, getOrSet 30), 15% writes (set 9, delete 5, invalidateTags 1). */
  async step(ctx: StepContext): Promise<void> {
    const { node, readOnly } = ctx.pickNode()
    const i = this.pickKey(ctx)
    const roll = ctx.rng.next() * (readOnly ? 0.85 : 1)
    if (roll < 0.45) return this.get(ctx, node, i)
    if (roll < 0.55) return this.getMany(ctx, node)
    if (roll < 0.85) return this.getOrSet(ctx, node, i)
    if (roll < 0.94) return this.set(ctx, node, i)
    if (roll < 0.99) return this.delete(ctx, node, i)
    return this.invalidate(ctx, node, this.groupOf(i))
  }

  async get(ctx: StepContext, node: NodeHandle, i: number): Promise<void> {
    const key = keyName(i)
    const result = await ctx.call(node, 'cache.get', { key }, this.bounds.get as number)
    if (result.ok) this.observed(ctx, node, result.phase, key, result.result as Observation, result.start, result.end)
  }

  async getMany(ctx: StepContext, node: NodeHandle): Promise<void> {
    const keys = Array.from({ length: 2 + ctx.rng.int(4) }, () => keyName(this.pickKey(ctx)))
    const result = await ctx.call(node, 'cache.getMany', { keys }, this.bounds.getMany as number)
    if (!result.ok) return
    const observed = result.result as Observation[]
    keys.forEach((key, j) =>
      this.observed(ctx, node, result.phase, key, observed[j] as Observation, result.start, result.end),
    )
  }

  async getOrSet(ctx: StepContext, node: NodeHandle, i: number): Promise<void> {
    const key = keyName(i)
    const lock = ctx.rng.chance(this.config.lockShare)
    const args = {
      key,
      ttl: this.ttlOf(i),
      tags: [this.groupOf(i)],
      lock,
      lockTimeout: this.config.lockTimeoutMs,
      dbDelay: ctx.rng.int(this.config.maxDbDelayMs + 1),
    }
    const bound = (lock ? this.bounds.getOrSetLocked : this.bounds.getOrSet) as number
    const result = await ctx.call(node, 'cache.getOrSet', args, bound)
    if (result.ok) this.observed(ctx, node, result.phase, key, result.result as Observation, result.start, result.end)
  }

  async set(ctx: StepContext, node: NodeHandle, i: number): Promise<void> {
    const key = keyName(i)
    await ctx.truth.locked([key], async () => {
      const version = ctx.truth.bump(key)
      const args = { key, version, ttl: this.ttlOf(i), tags: [this.groupOf(i)] }
      const result = await ctx.call(node, 'cache.set', args, this.bounds.set as number)
      ctx.checker.wrote(key, version, result.ok, result.start, result.end, 'set')
      if (result.ok) ctx.redisWriteOk(node, result.end)
    })
  }

  async delete(ctx: StepContext, node: NodeHandle, i: number): Promise<void> {
    const key = keyName(i)
    await ctx.truth.locked([key], async () => {
      const version = ctx.truth.bump(key) // the row changed: whatever was cached before is old now
      const result = await ctx.call(node, 'cache.delete', { key }, this.bounds.delete as number)
      ctx.checker.wrote(key, version, result.ok, result.start, result.end, 'delete')
      if (result.ok) ctx.redisWriteOk(node, result.end)
    })
  }

  async invalidate(ctx: StepContext, node: NodeHandle, group: string): Promise<void> {
    const keys = this.keysOfGroup(group)
    await ctx.truth.locked(keys, async () => {
      const versions = keys.map((key) => ctx.truth.bump(key)) // a bulk update of every row of the group
      const result = await ctx.call(
        node,
        'cache.invalidateTags',
        { tags: [group] },
        this.bounds.invalidateTags as number,
      )
      keys.forEach((key, j) =>
        ctx.checker.wrote(key, versions[j] as number, result.ok, result.start, result.end, 'invalidateTags'),
      )
      if (result.ok) ctx.redisWriteOk(node, result.end)
    })
  }

  observed(
    ctx: StepContext,
    node: NodeHandle,
    phase: Parameters<StepContext['checker']['read']>[0],
    key: string,
    observed: Observation,
    start: number,
    end: number,
  ): void {
    if (observed === null) {
      ctx.checker.read(phase, node.id, key, null, start, end)
      return
    }
    if (!Array.isArray(observed)) return ctx.checker.wrongValue(phase, node.id, key, observed.wrong)
    const [version, origin, layer] = observed
    if (version > ctx.truth.version(key))
      return ctx.checker.wrongValue(phase, node.id, key, `v${version}, a version the truth never had`)
    const stale = ctx.checker.read(phase, node.id, key, version, start, end, `made by ${origin}, answered by ${layer}`)
    if (stale === undefined) return
    // The evidence, for the report: the entry's and its tag's state in Redis right after. When the read was made
    // stale by an acknowledged invalidateTags and the tag's time in Redis is now below it, the tag time went back.
    void ctx.inspect([entryKey(key), tagKey(this.groupOf(Number(key.slice(2))))]).then(({ text, values }) => {
      stale.how += `; Redis then: ${text}`
      const tagTime = Number(values[1]?.toString('latin1') ?? Number.NaN)
      if (stale.newerBy === 'invalidateTags' && tagTime < stale.newerSentAt - CLOCK_SLACK_MS)
        ctx.checker.reclassify(phase, stale)
    })
  }
}
