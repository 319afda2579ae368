import { invalidateTags } from './tags.js'
import { CacheClosedError } from '../errors.js'
import { isWellFormed, notWellFormed } from '../internal/well_formed.js'
import { describe } from '../internal/describe.js'
import { parseDuration, type Duration } from '../internal/duration.js'
import type { CacheEventName, CacheListener } from '../observability/events.js'
import type { CacheStats } from '../observability/stats.js'
import { trace, traced, type TraceMessage, type TracedOperation } from '../observability/tracing.js'
import { incrementLocal, incrementShared } from './increment.js'
import { clearScope, expireEntry } from './expire_clear.js'
import { healthOf, statsOf, waitReady, type CacheHealth } from './introspection.js'
import type { MemoryEntry, MemoryTier } from '../tiers/memory_tier.js'
import { cached, type CachedFunction, type CachedOptions, type NoInferArgs } from '../wrappers/cached.js'
import type { CacheContext, Scope } from './context.js'
import { getOrSetMiss, refreshAhead } from './factory_runner.js'
import { registerScope } from './internals.js'
import { deleteEntries } from './delete.js'
import { resolveFill } from './fill_options.js'
import { DEFAULTS } from './defaults.js'
import {
  checkCounterOptions,
  checkNamespace,
  checkSetOptions,
  type CounterOptions,
  type GetOrSetOptions,
  type SetOptions,
} from './options.js'
import { readL2, readManyL2 } from './read_path.js'
import { emitMiss } from './reporting.js'
import { checkTags, prepare, writeEntries, type Prepared } from './write_path.js'

/** One entry of `setMany`. */
export interface SetManyEntry<T = unknown> extends SetOptions {
  key: string
  value: T
}

/**
 * The cache facade: L1 (in-process LRU) over L2 (Redis). Create it with `createCache()`;
 * `namespace()` returns a child sharing the same connections and counters.
 */
export class Cache {
  /** The namespace this cache reads and writes in (`'shop'`, `'shop:users'` for a child). */
  readonly name: string
  readonly #ctx: CacheContext
  readonly #scope: Scope
  readonly #l1: MemoryTier | undefined
  /** Keys up to this many UTF-16 units cannot exceed maxKeyBytes: no need to measure them. */
  readonly #shortKey: number

  /** @internal Use `createCache()`. */
  constructor(context: CacheContext, namespace: string) {
    this.#ctx = context
    this.name = namespace
    this.#scope = context.scope(namespace)
    this.#l1 = this.#scope.l1
    this.#shortKey = Math.floor(context.options.maxKeyBytes / 3)
    registerScope(this, this.#scope)
  }

  // ---------------------------------------------------------------- reads

  /** The value at `key`, or `undefined` on a miss. Redis failures are misses (and `l2:error` events). */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const hit = this.#l1Hit(key)
    if (hit !== undefined) return hit.value as T
    return this.#getMiss<T>(key)
  }

  /** True when `get(key)` would return a value. */
  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  /**
   * The cached value, or the factory's result, which is then cached. Concurrent calls for the
   * same key in this process share one factory run (with `lock: true`, across processes too).
   * Factory failures reject with `FactoryError` (`cause` is what the factory threw) and are not
   * cached, unless `grace` lets a stale value answer instead. A factory result of `undefined` is
   * returned but not cached. See {@link GetOrSetOptions} for grace, timeouts, refresh ahead and locks.
   */
  async getOrSet<T>(key: string, factory: () => T | Promise<T>, options?: GetOrSetOptions<NoInfer<T>>): Promise<T> {
    if (typeof factory !== 'function')
      throw new TypeError(`Expected \`factory\` to be a function, got ${describe(factory)}`)
    const hit = options?.forceFresh === true ? this.#l1Miss(key) : this.#l1Hit(key)
    if (hit !== undefined) {
      // Only entries written with grace or refreshAhead carry `reviewAt` and reach the clock here.
      if (hit.reviewAt === undefined || hit.reviewAt > Date.now()) return hit.value as T
      refreshAhead(this.#scope, this.#redisKey(key), key, factory, resolveFill(this.#ctx.options.ttl, options))
      return hit.value as T
    }
    return this.#getOrSetMiss(key, factory, options)
  }

  /**
   * `fn`, cached: calls with equal arguments share one cached result. Same as `cached(this, fn, options)`.
   * @see cached
   */
  wrap<A extends unknown[], R, This = unknown>(
    fn: (this: This, ...args: A) => R,
    options?: CachedOptions<NoInferArgs<A>, NoInfer<Awaited<R>>, NoInfer<This>>,
  ): CachedFunction<A, Awaited<R>, This> {
    return cached(this, fn, options)
  }

  /** Values for many keys, in order (`undefined` for misses). The L2 part is one Redis round trip. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    if (!Array.isArray(keys)) throw new TypeError(`Expected \`keys\` to be an array of strings, got ${describe(keys)}`)
    const ctx = this.#ctx
    const out = new Array<T | undefined>(keys.length).fill(undefined) // dense: misses are `undefined`, not holes
    const missing: number[] = []
    for (let i = 0; i < keys.length; i++) {
      const hit = this.#l1Hit(keys[i] as string)
      if (hit !== undefined) out[i] = hit.value as T
      else missing.push(i)
    }
    if (missing.length === 0) return out
    this.#open()
    const ks = missing.map((i) => this.#redisKey(keys[i]))
    if (ctx.l2 === undefined) return out
    return this.#traced('getMany', undefined, missing.length, undefined, () =>
      readManyL2(this.#scope, keys, ks, missing, out),
    )
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes `value` to Redis, then to L1, then tells the other nodes. `undefined` is refused
   * (it means "miss"; use `delete`). When Redis fails, see `l2.onWriteError`.
   */
  async set(key: string, value: unknown, options?: SetOptions): Promise<void> {
    if (options !== undefined) checkSetOptions(options)
    const prepared = this.#prepare(key, value, options)
    this.#open()
    await this.#traced('set', key, undefined, undefined, () => this.#write([prepared]))
  }

  /**
   * Writes many entries: every entry is validated and encoded before anything is written; the L2 part is one
   * pipeline.
   */
  async setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void> {
    if (!Array.isArray(entries))
      throw new TypeError(`Expected \`entries\` to be an array of { key, value }, got ${describe(entries)}`)
    const prepared = entries.map((entry: SetManyEntry) => {
      if (typeof entry !== 'object' || entry === null)
        throw new TypeError(`Expected each entry to be { key, value }, got ${describe(entry)}`)
      checkSetOptions(entry, true)
      return this.#prepare(entry.key, entry.value, entry)
    })
    if (prepared.length === 0) return
    this.#open()
    await this.#traced('set', undefined, prepared.length, undefined, () => this.#write(prepared))
  }

  /** Removes `key` from every tier (and, with the bus, from every node's L1). Resolves with whether it existed. */
  async delete(key: string): Promise<boolean> {
    return (await this.#traced('invalidate', key, undefined, 'delete', () => this.#delete([key]))) > 0
  }

  /** Removes many keys; resolves with how many existed. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    if (!Array.isArray(keys)) throw new TypeError(`Expected \`keys\` to be an array of strings, got ${describe(keys)}`)
    const unique = [...new Set(keys)]
    return this.#traced('invalidate', undefined, unique.length, 'delete', () => this.#delete(unique))
  }

  /** Gives an existing entry a new time to live. Resolves with whether the key existed. */
  async expire(key: string, ttl: Duration): Promise<boolean> {
    const k = this.#redisKey(key)
    const ms = parseDuration(ttl, 'ttl')
    this.#open()
    return expireEntry(this.#scope, k, key, ms)
  }

  /**
   * Adds `by` (default 1) to the integer counter at `key`, atomically in Redis, creating it at 0
   * (with `options.ttl` or the cache's ttl). Resolves with the new value. `get` reads it as a number.
   * Throws `NotACounterError` when `key` holds something else. With Redis configured it never falls
   * back to L1: a counter that only one server sees is what it exists to avoid.
   */
  async incr(key: string, by = 1, options?: CounterOptions): Promise<number> {
    const k = this.#redisKey(key)
    if (!Number.isSafeInteger(by)) throw new TypeError(`Expected \`by\` to be a safe integer, got ${describe(by)}`)
    if (options !== undefined) checkCounterOptions(options)
    const ttl = this.#ttl(options)
    const ctx = this.#ctx
    this.#open()
    if (ctx.l2 === undefined) return incrementLocal(this.#l1 as MemoryTier, key, by, ttl)
    await this.#ctx.startup // until this node hears invalidations (bounded)
    return incrementShared(this.#scope, k, key, by, ttl)
  }

  /** `incr(key, -by)`. */
  async decr(key: string, by = 1, options?: CounterOptions): Promise<number> {
    if (!Number.isSafeInteger(by)) throw new TypeError(`Expected \`by\` to be a safe integer, got ${describe(by)}`)
    return this.incr(key, -by, options)
  }

  /** Removes every key of this namespace (not of child namespaces) from Redis (SCAN, never KEYS) and L1. */
  async clear(): Promise<void> {
    this.#open()
    await this.#traced('invalidate', undefined, undefined, 'clear', () => clearScope(this.#scope))
  }

  /**
   * Makes every entry of this namespace written with one of `tags` (before this call) a miss, on every node and in
   * Redis, without scanning the keyspace: one small Redis key per tag records when it was invalidated.
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const checked = checkTags(tags)
    this.#open()
    await this.#traced('invalidate', undefined, checked.length, 'tags', async () => {
      await this.#ctx.startup // until this node hears invalidations (bounded)
      await invalidateTags(this.#scope, checked)
    })
  }

  // ---------------------------------------------------------------- structure and introspection

  /** A child cache in `<this namespace>:<name>`, sharing connections and counters. */
  namespace(name: string): Cache {
    checkNamespace(name, 'name')
    return new Cache(this.#ctx, `${this.name}:${name}`)
  }

  /**
   * Resolves once Redis answers and, with the bus, this node's subscription is confirmed: from then
   * on it hears every invalidation and L1 serves without the outage bound (`bus.maxStaleness`).
   * Useful at startup and in readiness probes. Rejects with the L2 error when Redis does not answer,
   * or with `ReadyTimeoutError` (`E_NOT_READY`) when Redis and the subscription are not both there within `timeout`.
   * @param timeout how long to wait. @default '5s'
   */
  async ready(timeout: Duration = DEFAULTS.readyTimeout): Promise<void> {
    const ms = parseDuration(timeout, 'timeout')
    this.#open()
    await waitReady(this.#ctx, ms)
  }

  /**
   * The cache's state for health checks: `status` (`ok`, `degraded` when Redis or the bus is down but the cache
   * still serves, `down` when closed, or without L1 and Redis not answering), the Redis round trip, L1's size and
   * the bus. Redis failures never make it reject, and it answers within `timeout` even when Redis does not (the PING
   * is raced against it).
   * @param timeout how long to wait for Redis. @default '1s'
   */
  async health(timeout: Duration = DEFAULTS.healthTimeout): Promise<CacheHealth> {
    return healthOf(this.#ctx, parseDuration(timeout, 'timeout'))
  }

  /** Hits and misses per tier, Redis errors, factory calls. Shared by all namespaces of a cache. */
  stats(): CacheStats {
    return statsOf(this.#ctx)
  }

  /** Listens to an event (see `CacheEvents`). */
  on<K extends CacheEventName>(name: K, listener: CacheListener<K>): this {
    this.#ctx.events.on(name, listener)
    return this
  }

  off<K extends CacheEventName>(name: K, listener: CacheListener<K>): this {
    this.#ctx.events.off(name, listener)
    return this
  }

  /**
   * Closes the Redis connections tiercache opened (not clients you passed in), for this cache and all its
   * namespaces.
   */
  async close(): Promise<void> {
    await this.#ctx.close()
  }

  // ---------------------------------------------------------------- internals

  /** The miss path of `get` (kept out of `get`'s body: the L1 hit stays as small as it can be). */
  async #getMiss<T>(key: string): Promise<T | undefined> {
    this.#open()
    const k = this.#redisKey(key)
    if (this.#ctx.l2 === undefined) {
      emitMiss(this.#ctx, this.name, key)
      return undefined
    }
    if (traced('get')) return trace({ operation: 'get', namespace: this.name, key }, () => this.#readL2<T>(k, key))
    return this.#readL2<T>(k, key)
  }

  async #readL2<T>(k: string, key: string): Promise<T | undefined> {
    if (this.#ctx.startup !== undefined) await this.#ctx.startup // until this node hears invalidations (bounded)
    return (await readL2(this.#scope, k, key))?.value as T | undefined
  }

  /** The miss path of `getOrSet`, traced from here when someone listens. */
  async #getOrSetMiss<T>(
    key: string,
    factory: () => T | Promise<T>,
    options: GetOrSetOptions<NoInfer<T>> | undefined,
  ): Promise<T> {
    this.#open()
    const resolved = resolveFill(this.#ctx.options.ttl, options)
    const fill = async (): Promise<T> => {
      if (this.#ctx.startup !== undefined) await this.#ctx.startup // until this node hears invalidations (bounded)
      return getOrSetMiss(this.#scope, this.#redisKey(key), key, factory, resolved)
    }
    return traced('getOrSet') ? trace({ operation: 'getOrSet', namespace: this.name, key }, fill) : fill()
  }

  async #write(prepared: Prepared[]): Promise<void> {
    await this.#ctx.startup // until this node hears invalidations (bounded)
    await writeEntries(this.#scope, prepared)
  }

  /** Runs `fn` as a traced operation when someone listens to its channel (the message is built only then). */
  #traced<R>(
    operation: TracedOperation,
    key: string | undefined,
    count: number | undefined,
    kind: TraceMessage['kind'],
    fn: () => Promise<R>,
  ): Promise<R> {
    if (!traced(operation)) return fn()
    return trace(
      {
        operation,
        namespace: this.name,
        ...(key !== undefined && { key }),
        ...(count !== undefined && { count }),
        ...(kind !== undefined && { kind }),
      },
      fn,
    )
  }

  /** Validates `key` and answers from L1 when it can. The hot path: no allocation, no string building. */
  #l1Hit(key: string): MemoryEntry | undefined {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#shortKey) this.#checkKey(key)
    const l1 = this.#l1
    if (l1 === undefined) return undefined
    const ctx = this.#ctx
    const hit = l1.get(key)
    // An entry kept in grace (it carries `reviewAt`) outlives its logical expiry: past it, it is a miss here.
    if (
      hit !== undefined &&
      (hit.reviewAt === undefined || hit.expiresAt > Date.now()) &&
      (ctx.l1Gate === undefined || ctx.l1Gate(hit))
    ) {
      ctx.counters.l1Hits++
      if (ctx.events.hitMissWatched) ctx.events.emit('hit', { namespace: this.name, key, layer: 'l1' })
      return hit
    }
    ctx.counters.l1Misses++
    return undefined
  }

  /** Validates `key` for a call that skips L1 (`forceFresh`). */
  #l1Miss(key: string): undefined {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#shortKey) this.#checkKey(key)
    return undefined
  }

  #checkKey(key: unknown): void {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(`Expected \`key\` to be a non-empty string, got ${describe(key)}`)
    const bytes = Buffer.byteLength(key)
    if (bytes > this.#ctx.options.maxKeyBytes)
      throw new TypeError(
        `Expected \`key\` to be at most ${this.#ctx.options.maxKeyBytes} bytes (maxKeyBytes), got ${bytes} bytes`,
      )
  }

  /** Validates `key` and returns its full Redis key. */
  #redisKey(key: unknown): string {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.#shortKey) this.#checkKey(key)
    if (!isWellFormed(key as string)) throw notWellFormed('key', key as string)
    return this.#scope.prefix + (key as string)
  }

  #ttl(options: { ttl?: Duration } | undefined): number {
    return options?.ttl === undefined ? this.#ctx.options.ttl : parseDuration(options.ttl, 'ttl')
  }

  #prepare(key: string, value: unknown, options: SetOptions | undefined): Prepared {
    const k = this.#redisKey(key)
    const tags = options?.tags === undefined ? undefined : checkTags(options.tags)
    return prepare(this.#ctx, k, key, value, this.#ttl(options), tags)
  }

  #open(): void {
    if (this.#ctx.closed) throw new CacheClosedError()
  }

  async #delete(keys: readonly string[]): Promise<number> {
    const items = keys.map((key) => ({ k: this.#redisKey(key), key }))
    this.#open()
    return deleteEntries(this.#scope, items)
  }
}
