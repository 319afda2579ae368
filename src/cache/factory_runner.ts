/**
 * What `getOrSet` does on a miss (ARCHITECTURE.md, "Leases"): read L2
 * and, in the same round trip, take a lease when the entry needs a fill; run the factory with soft
 * and hard timeouts, falling back to a stale value within grace; write the result only while its
 * lease holds (a write, delete or clear of the key anywhere since the read means it may predate
 * them). With `lock: true` the lease is also the lock: the caller that took it runs the factory,
 * the others wait for its value (woken by pub/sub) for at most `lockTimeout`. Concurrent misses in
 * one process share one run (`ctx.inflight`); a factory that outlives its caller (soft or hard
 * timeout, refresh ahead) goes on in the background (`ctx.background`), where failures become events.
 * @internal
 */
import { stamp } from '../internal/clock.js'
import { CacheError, FactoryError, FactoryHardTimeoutError } from '../errors.js'
import { parseDuration } from '../internal/duration.js'
import { LockWaiters } from '../locks/lock_waiters.js'
import type { Lease, LeaseRequest } from '../tiers/redis_tier.js'
import type { CacheContext, FactoryRun, Scope } from './context.js'
import type { Ticket } from './fences.js'
import { DEFAULTS } from './defaults.js'
import { expiryPolicyFor, type FillOptions } from './fill_options.js'
import { readForFill, type FillRead } from './read_path.js'
import { serveStale, staleInL1, type Stale } from './stale.js'
import { reportL2Error } from './reporting.js'
import { trace, traced } from '../observability/tracing.js'
import { checkTags, prepare, writeFill, writeInBackground, type FillOutcome } from './write_path.js'

type Factory<T> = () => T | Promise<T>

/** How long a plain fill's lease lives: a factory slower than this (or its hardTimeout) is not cached. */
const LEASE_TTL = parseDuration(DEFAULTS.getOrSet.leaseTtl, 'leaseTtl')

/** The lease a fill with these options takes: with `lock`, for `lockTimeout`; otherwise for a minute or more. */
function leaseRequest<T>(options: FillOptions<T>, lock = options.lock): LeaseRequest {
  return {
    ttl: lock ? options.lockTimeout : Math.max(LEASE_TTL, options.hardTimeout),
    lock,
    refreshWindow: options.expiry?.refreshWindow ?? 0,
  }
}

/**
 * The miss path of `getOrSet` (and `forceFresh`, which runs the factory without reading first):
 * concurrent callers for one key in this process share one fill.
 */
export function getOrSetMiss<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  options: FillOptions<T>,
): Promise<T> {
  if (options.forceFresh) return shared(scope, k, () => refresh(scope, k, key, factory, options))
  return shared(scope, k, () => fill(scope, k, key, factory, options))
}

/**
 * Refresh ahead: a hit found its entry past the refresh point. Starts one background run unless
 * one is going already (here, or with `lock`, in another process). Never throws, never rejects.
 */
export function refreshAhead<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  options: FillOptions<T>,
): void {
  // Only callers that ask for refreshAhead refresh ahead (an entry's `reviewAt` may also mark grace).
  if (options.refreshAhead > 0 && joinable(scope, scope.ctx.inflight.get(k)) === undefined)
    startRefresh(scope, k, key, factory, options, undefined)
}

function startRefresh<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  options: FillOptions<T>,
  lease: Lease | undefined,
): void {
  const { ctx } = scope
  if (joinable(scope, ctx.background.get(k)) !== undefined || ctx.closed) return
  const refreshing = (async (): Promise<unknown> => {
    const held = lease ?? (await leaseFor(scope, k, key, leaseRequest(options)))
    if (options.lock && held !== undefined && !held.mine) return undefined // another process is refreshing it
    return run(scope, k, key, factory, options, undefined, held)
  })()
  detach(scope, k, key, refreshing)
}

/**
 * Joins the run in flight for `k`, or starts one. A run that started before an invalidation of its key (this
 * node's own write or delete, or one heard on the bus) is not joined: its result may predate the invalidation,
 * and a caller that arrived after it must not get an older value. It goes on; a new one starts beside it.
 */
function shared<T>(scope: Scope, k: string, start: () => Promise<T>): Promise<T> {
  const { ctx } = scope
  const inflight = ctx.inflight
  const running = joinable(scope, inflight.get(k))
  if (running !== undefined) return running.promise as Promise<T>
  const ticket = ctx.fences.enter(k)
  const started = start()
  const run: FactoryRun = { promise: started, ticket }
  inflight.set(k, run)
  const done = (): void => {
    ctx.fences.leave(ticket)
    if (inflight.get(k) === run) inflight.delete(k)
  }
  started.then(done, done)
  return started
}

/** `run`, when no invalidation of its key (or of a tag of its namespace) happened since it started. */
function joinable(scope: Scope, run: FactoryRun | undefined): FactoryRun | undefined {
  const { fences } = scope.ctx
  return run !== undefined && fences.valid(run.ticket) && fences.tagsQuietSince(run.ticket, scope.prefix)
    ? run
    : undefined
}

/** `forceFresh`: a (plain) lease without a read, then the factory. */
async function refresh<T>(scope: Scope, k: string, key: string, factory: Factory<T>, options: FillOptions<T>) {
  return run(scope, k, key, factory, options, undefined, await leaseFor(scope, k, key, leaseRequest(options, false)))
}

/** A lease without a read; undefined without Redis or when Redis fails (reported: the fill stays in L1). */
async function leaseFor(scope: Scope, k: string, key: string, request: LeaseRequest): Promise<Lease | undefined> {
  const l2 = scope.ctx.l2
  if (l2 === undefined) return undefined
  try {
    return await l2.takeLease(k, request)
  } catch (error) {
    reportL2Error(scope.ctx, 'lease', key, error)
    return undefined
  }
}

/** A fresh entry's value, or undefined (absent, or only stale within grace). */
function freshValue(read: FillRead): { value: unknown } | undefined {
  const entry = read.entry
  if (entry === undefined || (entry.expiresAt !== 0 && entry.expiresAt <= Date.now())) return undefined
  return entry
}

/** True when a fresh entry is already within the refresh-ahead window of its expiry. */
function withinRefreshWindow<T>(read: FillRead, options: FillOptions<T>): boolean {
  const expiresAt = read.entry?.expiresAt ?? 0
  return expiresAt !== 0 && expiresAt - (options.expiry?.refreshWindow ?? 0) <= Date.now()
}

async function fill<T>(scope: Scope, k: string, key: string, factory: Factory<T>, options: FillOptions<T>): Promise<T> {
  const { ctx } = scope
  let stale = options.expiry === undefined ? undefined : staleInL1(scope, key)
  let lease: Lease | undefined
  if (ctx.l2 !== undefined) {
    const read = await readForFill(scope, k, key, options.expiry, leaseRequest(options))
    lease = read.lease
    const fresh = freshValue(read)
    if (fresh !== undefined) {
      if (lease !== undefined) {
        if (options.refreshAhead > 0 && withinRefreshWindow(read, options))
          startRefresh(scope, k, key, factory, options, lease)
        else if (options.lock && lease.mine) release(scope, key, lease) // a write landed between the read's two halves
      }
      return fresh.value as T
    }
    if (read.entry !== undefined) stale = { value: read.entry.value }
  }
  const background = joinable(scope, ctx.background.get(k))
  if (background !== undefined) {
    if (stale !== undefined) return serveStale(scope, key, stale, 'refreshing')
    const value = await background.promise
    if (value !== undefined) return value as T
  }
  if (options.lock && lease !== undefined && !lease.mine) return waitForHolder(scope, k, key, factory, options, stale)
  return run(scope, k, key, factory, options, stale, lease)
}

/**
 * `lock: true` and another process holds the lease: wait for its value, at most `lockTimeout`. Woken by the
 * holder's write (or its release, when its factory failed), then read again: the value, or the lease is ours now.
 */
async function waitForHolder<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  options: FillOptions<T>,
  stale: Stale | undefined,
): Promise<T> {
  const { ctx, namespace } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  if (stale !== undefined) return serveStale(scope, key, stale, 'lock-held')
  const deadline = Date.now() + options.lockTimeout
  const waiters = (ctx.lockWaiters ??= new LockWaiters(l2.connection.client, l2.lockChannel, (error) =>
    reportL2Error(ctx, 'lock:subscribe', undefined, error),
  ))
  ctx.counters.lockWaits++
  for (;;) {
    // Register first, then look: a release published in between still wakes us.
    const waiter = waiters.wait(l2.leaseKey(k), Math.max(0, deadline - Date.now()))
    try {
      await waiters.ready()
    } catch (error) {
      waiter.cancel()
      reportL2Error(ctx, 'lock:subscribe', key, error)
      return run(scope, k, key, factory, options, stale, undefined)
    }
    const look = await readForFill(scope, k, key, options.expiry, leaseRequest(options))
    const found = freshValue(look)
    if (found !== undefined || look.lease === undefined || look.lease.mine) {
      waiter.cancel()
      if (found !== undefined) {
        if (look.lease?.mine === true) release(scope, key, look.lease)
        return found.value as T
      }
      return run(scope, k, key, factory, options, stale, look.lease)
    }
    const outcome = await waiter.outcome
    const again = await readForFill(scope, k, key, options.expiry, leaseRequest(options))
    const written = freshValue(again)
    if (written !== undefined) {
      if (again.lease?.mine === true) release(scope, key, again.lease)
      return written.value as T
    }
    if (outcome === 'timeout' || again.lease === undefined || again.lease.mine) {
      if (outcome === 'timeout') {
        ctx.counters.lockTimeouts++
        ctx.events.emit('lock:timeout', { namespace, key })
      }
      // The holder is gone (or Redis is): run the factory with whatever lease there is (shared if not ours).
      return run(scope, k, key, factory, options, stale, again.lease)
    }
    // Woken, but another process took the lease first: wait for that one.
  }
}

/** Gives back a `lock: true` lease whose fill was not written, waking the processes waiting for it. */
function release(scope: Scope, key: string, lease: Lease): void {
  const { ctx } = scope
  const l2 = ctx.l2
  if (l2 === undefined || ctx.closed) return
  l2.releaseLease(lease).catch((error: unknown) =>
    ctx.events.emit('background:error', { operation: 'unlock', key, error }),
  )
}

/**
 * Runs the factory and writes its result under `lease`. Resolves with the value, or with `stale` when the
 * factory fails or outlives `softTimeout`/`hardTimeout`; a run that outlives its caller goes on in the
 * background. A `lock: true` lease whose value was not written is released once the run is over.
 */
function run<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  options: FillOptions<T>,
  stale: Stale | undefined,
  lease: Lease | undefined,
): Promise<T> {
  const { ctx } = scope
  ctx.counters.factoryCalls++
  // An invalidation on this node while the factory runs: its result may predate it (see below).
  const ticket = ctx.fences.enter(k)
  // A tagged result counts as created when its factory started: a tag invalidated while it ran wins.
  const started = stamp()
  const holdsLock = options.lock && lease?.mine === true ? lease : undefined
  const produced = traced('factory')
    ? trace({ operation: 'factory', namespace: scope.namespace, key }, async () => factory())
    : new Promise<T>((resolve) => resolve(factory()))
  const stored = produced.then(
    async (value) => {
      // Under a lease, Redis decides: every write, delete or clear of the key since the lease was taken dropped it,
      // and the fill is then refused. So a fence (an invalidation of its key or of everything, such as the bus
      // coming back after an outage) keeps the value out of this node's L1 only: skipping the write would release
      // a `lock: true` lease unwritten, and every waiter would run its own factory. Without a lease (L1 only, or
      // Redis failed), a fence skips it (not tags: Redis's tag check keeps a tagged value made before an
      // invalidation out).
      const outcome =
        lease !== undefined || ctx.fences.valid(ticket)
          ? await store(scope, k, key, value, options, started, lease, ticket)
          : 'fenced'
      if (holdsLock !== undefined && outcome !== 'written' && outcome !== 'background') release(scope, key, holdsLock)
      return value
    },
    (error: unknown) => {
      ctx.counters.factoryErrors++
      if (holdsLock !== undefined) release(scope, key, holdsLock)
      throw new FactoryError(key, error)
    },
  )
  stored.then(
    () => ctx.fences.leave(ticket),
    () => ctx.fences.leave(ticket),
  )

  return new Promise<T>((resolve, reject) => {
    let finished = false
    const timers: NodeJS.Timeout[] = []
    const finish = (outcome: () => void): void => {
      if (finished) return
      finished = true
      for (const timer of timers) clearTimeout(timer)
      outcome()
    }
    stored.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) =>
        finish(() => {
          if (stale !== undefined && error instanceof FactoryError)
            resolve(serveStale(scope, key, stale, 'factory-error', error))
          else reject(error)
        }),
    )
    const giveUp = (reason: 'soft-timeout' | 'hard-timeout') => (): void =>
      finish(() => {
        // Joinable in the background only if nothing invalidated its key since it started.
        detach(scope, k, key, stored, ctx.fences.valid(ticket))
        if (stale !== undefined) resolve(serveStale(scope, key, stale, reason))
        else reject(new FactoryHardTimeoutError(key, options.hardTimeout))
      })
    if (stale !== undefined && options.softTimeout > 0)
      timers.push(setTimeout(giveUp('soft-timeout'), options.softTimeout))
    if (options.hardTimeout > 0) timers.push(setTimeout(giveUp('hard-timeout'), options.hardTimeout))
  })
}

/** Writes a factory's result as the options say: what became of it ('skipped' when it is not to be cached). */
async function store<T>(
  scope: Scope,
  k: string,
  key: string,
  value: T,
  options: FillOptions<T>,
  started: number,
  lease: Lease | undefined,
  since: Ticket,
): Promise<FillOutcome | 'skipped' | 'background'> {
  if (value === undefined || (options.shouldCache !== undefined && !options.shouldCache(value))) return 'skipped'
  let ttl = options.ttl
  if (value === null) {
    if (options.nullTtl === false) return 'skipped'
    ttl = options.nullTtl
  }
  if (options.jitter > 0) ttl = Math.max(1, Math.round(ttl * (1 - options.jitter * Math.random())))
  const tags = typeof options.tags === 'function' ? checkTags(options.tags(value)) : options.tags
  const expiry =
    ttl === options.ttl ? options.expiry : expiryPolicyFor(options.expiry?.grace ?? 0, options.refreshAhead, ttl)
  const prepared = prepare(scope.ctx, k, key, value, ttl, tags, started, expiry)
  if (!options.background) return writeFill(scope, prepared, lease, since)
  const holdsLock = options.lock && lease?.mine === true ? lease : undefined
  writeInBackground(
    scope,
    prepared,
    lease,
    (outcome) => {
      if (holdsLock !== undefined && outcome !== 'written') release(scope, key, holdsLock)
    },
    since,
  )
  return 'background'
}

/**
 * Keeps a run that outlived its caller: later misses join it (when `joinable`, and until its key is invalidated),
 * and its failure becomes a `refresh:error` event.
 */
function detach(scope: Scope, k: string, key: string, running: Promise<unknown>, joinable = true): void {
  const { ctx, namespace } = scope
  const runs = ctx.background
  let done = (): void => undefined
  if (joinable) {
    const ticket = ctx.fences.enter(k)
    const run: FactoryRun = { promise: running, ticket }
    runs.set(k, run)
    done = () => {
      ctx.fences.leave(ticket)
      if (runs.get(k) === run) runs.delete(k)
    }
  }
  running.then(done, (error: unknown) => {
    done()
    const wrapped = error instanceof CacheError ? error : new FactoryError(key, error)
    ctx.events.emit('refresh:error', { namespace, key, error: wrapped })
  })
}
