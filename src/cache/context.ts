import { Events } from '../observability/events.js'
import { Counters } from '../observability/stats.js'
import { MemoryTier } from '../tiers/memory_tier.js'
import { RedisTier, type Announcement } from '../tiers/redis_tier.js'
import { Fences } from './fences.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import type { ResolvedOptions } from './options.js'
import { CacheError, L2CommandError } from '../errors.js'
import type { LockWaiters } from '../locks/lock_waiters.js'

/**
 * Where the facade tells the rest of the cluster that keys changed. The bus implements it;
 * calls are fire-and-forget and report their own failures as events.
 * @internal
 */
export interface Announcer {
  /** Full Redis keys whose value changed or went away. */
  keysChanged(keys: readonly string[]): void
  /** Every key under `prefix` went away. */
  prefixCleared(prefix: string): void
  /** Entries of the namespace whose key prefix is `prefix` carrying one of `tags` went stale. */
  tagsInvalidated(prefix: string, tags: readonly string[]): void
  /**
   * The messages announcing that `keys` (full Redis keys) changed, one per namespace, without sending
   * them: the write path sends them in the same round trip as the write itself.
   */
  messagesFor(keys: readonly string[]): Announcement[]
  /** True while this node hears every invalidation (its subscription is confirmed). */
  readonly up: boolean
  close(): Promise<void>
}

/**
 * One namespace: its key prefix and its own L1, keyed by the caller's key (not the prefixed
 * Redis key: building that string on every L1 hit would cost more than the hit itself).
 * @internal
 */
export interface Scope {
  readonly ctx: CacheContext
  readonly namespace: string
  /** `<prefix>:<namespace>::`, the start of every Redis key of this namespace. */
  readonly prefix: string
  readonly l1: MemoryTier | undefined
}

/** What a cache and all of its namespaces share. @internal */
export interface CacheContext {
  readonly options: ResolvedOptions
  /** Every namespace used so far, by name (so `namespace('x')` twice shares one L1). */
  readonly scopes: Map<string, Scope>
  scope(namespace: string): Scope
  readonly l2: RedisTier | undefined
  readonly events: Events
  readonly counters: Counters
  readonly fences: Fences
  /** getOrSet calls in flight, by full key: concurrent misses share one factory run. */
  readonly inflight: Map<string, Promise<unknown>>
  announcer: Announcer | undefined
  /** Waiters for distributed locks (`getOrSet` with `lock: true`), created on first use. */
  lockWaiters: LockWaiters | undefined
  /** When set, an L1 entry is served only if this returns true (used while the bus is down). */
  l1Gate: ((entry: MemoryEntry) => boolean) | undefined
  /**
   * When set (tags module), L2 reads pass the raw values that carry tags through it: an entry made before one of
   * its tags was invalidated comes back as `null` (a miss). One extra round trip at most. Rejects with L2 errors.
   */
  tagFilter: ((scope: Scope, raws: ReadonlyArray<Buffer | null>) => Promise<Array<Buffer | null>>) | undefined
  closed: boolean
  close(): Promise<void>
}

export function createContext(options: ResolvedOptions): CacheContext {
  const events = new Events()
  const l2Options = options.l2
  const l2 =
    l2Options === undefined
      ? undefined
      : new RedisTier(l2Options.client, {
          timeout: l2Options.timeout,
          breakerThreshold: l2Options.breakerThreshold,
          breakerCooldown: l2Options.breakerCooldown,
          onCircuit: (state) => events.emit('l2:circuit', { state }),
        })
  // ioredis emits 'error' on every failed connection attempt; without a listener it prints
  // them. Route them to our event instead.
  const onConnectionError = (error: unknown): void => {
    const wrapped = error instanceof CacheError ? error : new L2CommandError(`Redis connection: ${(error as Error)?.message}`, { cause: error })
    events.emit('l2:error', { operation: 'connection', key: undefined, error: wrapped })
  }
  l2Options?.client.on('error', onConnectionError)

  const context: CacheContext = {
    options,
    scopes: new Map(),
    scope(namespace) {
      let scope = context.scopes.get(namespace)
      if (scope === undefined) {
        const l1 = options.l1 === undefined ? undefined : new MemoryTier(options.l1)
        scope = { ctx: context, namespace, prefix: `${options.prefix}:${namespace}::`, l1 }
        context.scopes.set(namespace, scope)
      }
      return scope
    },
    l2,
    events,
    counters: new Counters(),
    fences: new Fences(),
    inflight: new Map(),
    announcer: undefined,
    lockWaiters: undefined,
    l1Gate: undefined,
    tagFilter: undefined,
    closed: false,
    async close() {
      if (context.closed) return
      context.closed = true
      await context.announcer?.close()
      await context.lockWaiters?.close()
      for (const scope of context.scopes.values()) scope.l1?.clear()
      if (l2Options !== undefined) {
        if (l2Options.owned) {
          const client = l2Options.client
          await Promise.race([
            client.quit().catch(() => undefined),
            new Promise((resolve) => setTimeout(resolve, 1000).unref()),
          ])
          client.disconnect()
        }
        l2Options.client.off('error', onConnectionError)
      }
    },
  }
  return context
}
