/**
 * The node side of the cache workload: one cache (public API only) that the harness drives with get, getMany,
 * getOrSet (its factory reads the harness's source of truth), set, delete and invalidateTags, plus two probes of
 * fresh caches: `fresh` (a new cache replaces the node's cache and is used at once, as after a deploy) and
 * `stampede` (a new cache makes many concurrent `lock: true` calls on a cold key). Events that matter to the
 * run are forwarded (`bus:state`) or counted (`stats`).
 */
import type { Cache, CacheOptions } from '../../../src/index.js'
import type { NodeEnv, NodeWorkload } from '../../workload.js'
import { observe, valueOf, type Observation } from './values.js'

/** How long a replaced cache keeps serving the calls it has in flight before it is closed. */
const RETIRE_AFTER_MS = 2000
/** Longest wait of `fresh` for its new cache's first bus confirmation. */
const CONFIRM_WAIT_MS = 5000

export const NAMESPACE = 'chaos'

const COUNTED = [
  'l2:error',
  'decode:error',
  'write:degraded',
  'bus:error',
  'background:error',
  'refresh:error',
  'lock:timeout',
  'stale:served',
] as const

interface ReadArgs {
  key: string
}
interface FillArgs {
  key: string
  ttl: number
  tags: string[]
  lock: boolean
  lockTimeout: number
  dbDelay: number
}
interface WriteArgs {
  key: string
  version: number
  ttl: number
  tags: string[]
}

export function startCacheNode(env: NodeEnv): NodeWorkload {
  const counts: Record<string, number> = {}
  let serial = 0
  const retiring = new Set<Cache>()
  /** Per cache: its name in value origins, and which tier last answered for each key (from `hit` events). */
  const names = new WeakMap<Cache, string>()
  const layers = new WeakMap<Cache, Map<string, 'l1' | 'l2'>>()

  const make = (overrides: CacheOptions = {}): Cache => {
    const id = ++serial
    const created = env.api.createCache({
      redis: env.redisUrl,
      namespace: NAMESPACE,
      ttl: '10m',
      ...(env.options.cache as CacheOptions | undefined),
      ...overrides,
    })
    let confirmed = false
    created.on('bus:state', ({ state, dropped }) => {
      // `current`: the node's cache (not one being retired, nor a stampede probe's).
      const first = state === 'up' && !confirmed
      env.report({ event: 'bus:state', state, dropped, cache: id, first, current: created === cache })
      if (state === 'up') confirmed = true
    })
    for (const name of COUNTED) created.on(name, () => void (counts[name] = (counts[name] ?? 0) + 1))
    // A revalidation that fails (Redis too slow to answer it) drops L1 instead, as documented: the harness needs to
    // know, or it would take the drop for a node that never revalidates.
    created.on('bus:error', ({ error }) => {
      if (/revalidat/i.test(error.message)) env.report({ event: 'revalidation-failed', current: created === cache })
    })
    const answered = new Map<string, 'l1' | 'l2'>()
    created.on('hit', ({ key, layer }) => void answered.set(key, layer))
    layers.set(created, answered)
    names.set(created, `n${env.nodeId}/${id}`)
    return created
  }

  const retire = (old: Cache): void => {
    retiring.add(old)
    setTimeout(() => {
      retiring.delete(old)
      old.close().catch((error: unknown) => env.report({ event: 'note', message: `close failed: ${String(error)}` }))
    }, RETIRE_AFTER_MS).unref()
  }

  let cache: Cache = make()

  const fill = (target: Cache, args: FillArgs): Promise<unknown> =>
    target.getOrSet(
      args.key,
      async () => valueOf(args.key, await env.db.read(args.key, args.dbDelay), `${names.get(target)}:fill`),
      { ttl: args.ttl, tags: args.tags, ...(args.lock && { lock: true, lockTimeout: args.lockTimeout }) },
    )

  /**
   * Reads through `read` and says which tier answered each key ('factory' when none did and a value came back).
   * Diagnostics only: two reads of one key at once on one node may swap their answers.
   */
  const traced = async <T>(target: Cache, keys: readonly string[], read: () => Promise<T>): Promise<[T, string[]]> => {
    const answered = layers.get(target) as Map<string, 'l1' | 'l2'>
    for (const key of keys) answered.delete(key)
    const result = await read()
    return [result, keys.map((key) => answered.get(key) ?? 'factory')]
  }

  const ops = {
    async get({ key }: ReadArgs): Promise<Observation> {
      const target = cache
      const [value, [layer]] = await traced(target, [key], () => target.get(key))
      return observe(key, value, layer)
    },
    async getMany({ keys }: { keys: string[] }): Promise<Observation[]> {
      const target = cache
      const [values, answered] = await traced(target, keys, () => target.getMany(keys))
      return values.map((value, i) => observe(keys[i] as string, value, answered[i]))
    },
    async getOrSet(args: FillArgs): Promise<Observation> {
      const target = cache
      const [value, [layer]] = await traced(target, [args.key], () => fill(target, args))
      return observe(args.key, value, layer)
    },
    async set(args: WriteArgs): Promise<void> {
      const value = valueOf(args.key, args.version, `${names.get(cache)}:set`)
      await cache.set(args.key, value, { ttl: args.ttl, tags: args.tags })
    },
    async delete({ key }: ReadArgs): Promise<boolean> {
      return cache.delete(key)
    },
    async invalidateTags({ tags }: { tags: string[] }): Promise<void> {
      await cache.invalidateTags(tags)
    },

    /** A new cache (with `options`) replaces this node's cache and is used at once by the workload (no `ready()`). */
    async swap({ options }: { options?: CacheOptions }): Promise<void> {
      retire(cache)
      cache = make(options)
    },

    /**
     * A brand-new cache in `namespace` (away from the workload's invalidations) writes `key` at once, reads it back,
     * waits for its first bus confirmation, and reads it again, saying which tier answered: a cache that keeps what
     * it installed before its bus was confirmed answers from L1.
     */
    async freshProbe(args: WriteArgs & { namespace: string }) {
      const probe = make({ namespace: args.namespace })
      let droppedAtFirstConfirm: number | undefined
      const confirmed = new Promise<void>((resolve) => {
        probe.on('bus:state', ({ state, dropped }) => {
          if (state !== 'up' || droppedAtFirstConfirm !== undefined) return
          droppedAtFirstConfirm = dropped
          resolve()
        })
      })
      try {
        let setError: string | undefined
        try {
          await probe.set(args.key, valueOf(args.key, args.version, `${names.get(probe)}:set`), {
            ttl: args.ttl,
            tags: args.tags,
          })
        } catch (error) {
          setError = String((error as { code?: unknown }).code ?? error)
        }
        const readBack = observe(args.key, await probe.get(args.key))
        let timer: NodeJS.Timeout | undefined
        await Promise.race([confirmed, new Promise((resolve) => (timer = setTimeout(resolve, CONFIRM_WAIT_MS)))])
        clearTimeout(timer)
        const layerAfterConfirm = await layerOf(probe, args.key)
        const own = Array.isArray(readBack) ? readBack[0] : readBack
        return { setError, own, droppedAtFirstConfirm, layerAfterConfirm }
      } finally {
        await probe.close()
      }
    },

    /**
     * A brand-new cache makes `calls` concurrent `lock: true` getOrSet calls on a cold key, then closes. With
     * `awaitReady`, it first waits for `ready()`; with `namespace`, it works in that namespace instead of the
     * workload's (where tag invalidations keep coming).
     */
    async stampede(args: FillArgs & { calls: number; awaitReady: boolean; namespace?: string }) {
      const fresh = make(args.namespace === undefined ? {} : { namespace: args.namespace })
      try {
        if (args.awaitReady) await fresh.ready()
        const settled = await Promise.allSettled(Array.from({ length: args.calls }, () => fill(fresh, args)))
        const versions = new Set<string>()
        const errors: Record<string, number> = {}
        for (const outcome of settled) {
          if (outcome.status === 'fulfilled') {
            const observed = observe(args.key, outcome.value)
            versions.add(JSON.stringify(Array.isArray(observed) ? observed[0] : observed))
          } else {
            const code = String((outcome.reason as { code?: unknown }).code ?? outcome.reason)
            errors[code] = (errors[code] ?? 0) + 1
          }
        }
        return { versions: [...versions], errors }
      } finally {
        await fresh.close()
      }
    },

    /** Events counted since the last call (and resets them). */
    async stats() {
      const out = { ...counts }
      for (const name of Object.keys(counts)) delete counts[name]
      return out
    },
  }

  return {
    ops,
    async close() {
      await Promise.allSettled([cache.close(), ...[...retiring].map((c) => c.close())])
    },
  }
}

/** Reads `key` and says which tier answered ('miss' when none did). */
async function layerOf(cache: Cache, key: string): Promise<'l1' | 'l2' | 'miss'> {
  let layer: 'l1' | 'l2' | 'miss' = 'miss'
  const onHit = (payload: { key: string; layer: 'l1' | 'l2' }): void => {
    if (payload.key === key) layer = payload.layer
  }
  cache.on('hit', onHit)
  try {
    await cache.get(key)
  } finally {
    cache.off('hit', onHit)
  }
  return layer
}
