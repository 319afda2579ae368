/**
 * What a cache and all of its namespaces share (options, tiers, events, counters, fences, the
 * factory runs in flight), and the one-namespace view of it (`Scope`). Shared services only: the
 * logic lives in the modules that use them.
 * @internal
 */
import type { LockWaiters } from '../locks/lock_waiters.js'
import { Events } from '../observability/events.js'
import { Counters, type BusStats } from '../observability/stats.js'
import { RedisConnection } from '../redis/connection.js'
import { MemoryStore, type MemoryEntry, type MemoryTier } from '../tiers/memory_tier.js'
import { RedisTier, type Announcement } from '../tiers/redis_tier.js'
import { Fences, type Ticket } from './fences.js'
import { ReplicaRoutes } from './replica_routes.js'
import type { ResolvedOptions } from './options.js'

/**
 * How the facade tells the other nodes that keys changed: the bus implements it. Messages are
 * built here and sent by the write's own Lua call (redis_scripts.ts), so a change is acknowledged
 * only together with its announcement.
 */
export interface Announcer {
  /** The message announcing that full keys `keys` (of one namespace) changed, sent with the write itself. */
  keysMessage(keys: readonly string[]): Announcement
  /** The message announcing that entries of the namespace at `prefix` carrying one of `tags` went stale. */
  tagsMessage(prefix: string, tags: readonly string[]): Announcement
  /** The message announcing that every key of the namespace at `prefix` went away. */
  clearMessage(prefix: string): Announcement
  /** Sends a clear of `prefix` on its own, retried until sent (a clear that may have landed half-way). */
  prefixCleared(prefix: string): void
  /** True while this node hears every invalidation (its subscription is confirmed). */
  readonly up: boolean
  /** What the bus has seen (health, metrics). */
  stats(): BusStats
  /** The heartbeat interval on the subscriber connection (ms; 0 = none). */
  readonly heartbeat: number
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

/**
 * A factory run others may join, with the fence ticket it took when it started: once an invalidation of its key
 * moved the fence, its result may predate that invalidation, and a caller that arrives afterwards must not get it.
 */
export interface FactoryRun {
  readonly promise: Promise<unknown>
  readonly ticket: Ticket
}

/** What a cache and all of its namespaces share. */
export interface CacheContext {
  readonly options: ResolvedOptions
  /** Every namespace used so far, by name (so `namespace('x')` twice shares one L1). */
  readonly scopes: Map<string, Scope>
  scope(namespace: string): Scope
  /** L1: one store (and one bound) for every namespace; undefined with `l1: false`. */
  readonly l1: MemoryStore | undefined
  /** The Redis connection (timeouts, circuit breaker, coded errors), or undefined on an L1-only cache. */
  readonly connection: RedisConnection | undefined
  readonly l2: RedisTier | undefined
  /** Which L2 reads may go to the replica (`l2.replicas`); undefined: every read goes to the primary. */
  readonly replicaRoutes: ReplicaRoutes | undefined
  readonly events: Events
  readonly counters: Counters
  readonly fences: Fences
  /** getOrSet fills in flight, by full key: concurrent misses share one factory run. */
  readonly inflight: Map<string, FactoryRun>
  /** Factory runs that outlived their callers (refresh ahead, soft or hard timeout), by full key. */
  readonly background: Map<string, FactoryRun>
  announcer: Announcer | undefined
  /** Waiters for distributed locks (`getOrSet` with `lock: true`), created on first use. */
  lockWaiters: LockWaiters | undefined
  /**
   * Set until the bus's first subscription is confirmed (or a bound passed): operations that reach L2 await it
   * first, so that nothing is installed in L1 before this node hears invalidations.
   */
  startup: Promise<void> | undefined
  /** When set, an L1 entry is served only if this returns true (used while the bus is down). */
  l1Gate: ((entry: MemoryEntry) => boolean) | undefined
  closed: boolean
  close(): Promise<void>
}

export function createContext(options: ResolvedOptions): CacheContext {
  const events = new Events()
  const l2Options = options.l2
  const connection =
    l2Options === undefined
      ? undefined
      : new RedisConnection(
          l2Options.client,
          l2Options.owned,
          {
            timeout: l2Options.timeout,
            breakerThreshold: l2Options.breakerThreshold,
            breakerCooldown: l2Options.breakerCooldown,
          },
          {
            onCircuit: (state) => events.emit('l2:circuit', { state }),
            onError: (error) => events.emit('l2:error', { operation: 'connection', key: undefined, error }),
          },
        )

  const replicas = l2Options?.replicas
  const replica =
    replicas === undefined || l2Options === undefined
      ? undefined
      : new RedisConnection(
          replicas.client,
          replicas.owned,
          {
            timeout: l2Options.timeout,
            breakerThreshold: l2Options.breakerThreshold,
            breakerCooldown: l2Options.breakerCooldown,
          },
          { onError: (error) => events.emit('l2:error', { operation: 'replica connection', key: undefined, error }) },
        )
  const routes =
    replicas === undefined ? undefined : new ReplicaRoutes(replicas.lag, () => context.announcer?.up === false)
  const store = options.l1 === undefined ? undefined : new MemoryStore(options.l1)
  const context: CacheContext = {
    options,
    scopes: new Map(),
    scope(namespace) {
      let scope = context.scopes.get(namespace)
      if (scope === undefined) {
        const l1 = store?.namespace()
        scope = { ctx: context, namespace, prefix: `${options.prefix}:${namespace}::`, l1 }
        context.scopes.set(namespace, scope)
      }
      return scope
    },
    l1: store,
    connection,
    l2: connection === undefined ? undefined : new RedisTier(connection, options.prefix, replica, l2Options?.ack),
    replicaRoutes: routes,
    events,
    counters: new Counters(),
    fences: new Fences(routes),
    inflight: new Map(),
    background: new Map(),
    announcer: undefined,
    lockWaiters: undefined,
    startup: undefined,
    l1Gate: undefined,
    closed: false,
    async close() {
      if (context.closed) return
      context.closed = true
      await context.announcer?.close()
      await context.lockWaiters?.close()
      for (const scope of context.scopes.values()) scope.l1?.clear()
      await connection?.close()
      await replica?.close()
    },
  }
  return context
}
