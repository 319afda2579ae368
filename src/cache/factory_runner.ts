import { stamp } from '../internal/clock.js'
/**
 * What `getOrSet` does on a miss: look in L2 (stale entries within grace included), take the
 * distributed lock when asked, run the factory with soft and hard timeouts, fall back to a stale
 * value when it fails, and write its result (shouldCache, null TTL, jitter, tags). Concurrent
 * misses in one process share one run (`ctx.inflight`); a factory that outlives its caller (soft
 * or hard timeout, refresh ahead) goes on in the background, where failures become events.
 * @internal
 */
import { CacheError, FactoryError, FactoryHardTimeoutError } from '../errors.js'
import { LockWaiters } from '../locks/lock_waiters.js'
import { lockChannelOf, lockKeyOf, tryLock, unlock, type HeldLock } from '../locks/redis_lock.js'
import type { CacheContext, Scope } from './context.js'
import { keepFor, type FillOptions } from './fill_options.js'
import { readL2, reportL2Error, type Keep } from './read_path.js'
import { checkTags, prepare, writeEntries, writeInBackground } from './write_path.js'

type Factory<T> = () => T | Promise<T>
type StaleReason = 'factory-error' | 'soft-timeout' | 'hard-timeout' | 'lock-held' | 'refreshing'

/** A value past its logical expiry but within grace. */
interface Stale {
  value: unknown
}

/** Factory runs that outlived their callers, per cache context and full key. */
const backgroundRuns = new WeakMap<CacheContext, Map<string, Promise<unknown>>>()

function runsOf(ctx: CacheContext): Map<string, Promise<unknown>> {
  let runs = backgroundRuns.get(ctx)
  if (runs === undefined) backgroundRuns.set(ctx, (runs = new Map()))
  return runs
}

/** The miss path of `getOrSet`: concurrent callers for one key in this process share one fill. */
export function getOrSetMiss<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>): Promise<T> {
  return shared(scope.ctx, k, () => fill(scope, k, key, factory, o))
}

/** Runs the factory now (no read first) and writes its result; joins a run already in flight. */
export function refreshNow<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>): Promise<T> {
  return shared(scope.ctx, k, () => run(scope, k, key, factory, o, undefined, undefined))
}

/**
 * Refresh ahead: a hit found its entry past the refresh point. Starts one background run unless
 * one is going already (here, or with `lock`, in another process). Never throws, never rejects.
 */
export function refreshAhead<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>): void {
  // Only callers that ask for refreshAhead refresh ahead (an entry's `g` may also mark grace).
  if (o.refreshAhead > 0 && !scope.ctx.inflight.has(k)) startRefresh(scope, k, key, factory, o)
}

function startRefresh<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>): void {
  const { ctx } = scope
  if (runsOf(ctx).has(k) || ctx.closed) return
  const l2 = ctx.l2
  const refreshing = (async (): Promise<unknown> => {
    if (!o.lock || l2 === undefined || l2.circuit === 'open') return run(scope, k, key, factory, o, undefined, undefined)
    const lock = await tryLock(l2.client, lockKeyOf(ctx.options.prefix, k), o.lockTimeout, ctx.options.l2?.timeout ?? 0)
    if (lock === undefined) return undefined // another process is refreshing it
    return run(scope, k, key, factory, o, undefined, () => release(scope, key, lock))
  })()
  detach(scope, k, key, refreshing)
}

function shared<T>(ctx: CacheContext, k: string, start: () => Promise<T>): Promise<T> {
  const inflight = ctx.inflight
  let running = inflight.get(k) as Promise<T> | undefined
  if (running === undefined) {
    const started = start()
    inflight.set(k, started)
    const done = (): void => {
      if (inflight.get(k) === started) inflight.delete(k)
    }
    started.then(done, done)
    running = started
  }
  return running
}

async function fill<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>): Promise<T> {
  const { ctx } = scope
  let stale = o.keep === undefined ? undefined : staleInL1(scope, key)
  if (ctx.l2 !== undefined) {
    const entry = await readL2(scope, k, key, o.keep)
    if (entry !== undefined) {
      const now = Date.now()
      if (entry.expiresAt === 0 || entry.expiresAt > now) {
        if (o.refreshAhead > 0 && entry.expiresAt !== 0 && entry.expiresAt - (o.keep?.refreshWindow ?? 0) <= now)
          startRefresh(scope, k, key, factory, o)
        return entry.value as T
      }
      stale = { value: entry.value }
    }
  }
  const background = runsOf(ctx).get(k)
  if (background !== undefined) {
    if (stale !== undefined) return serveStale(scope, key, stale, 'refreshing')
    const value = await background
    if (value !== undefined) return value as T
  }
  const l2 = ctx.l2
  if (o.lock && l2 !== undefined && l2.circuit !== 'open') return locked(scope, k, key, factory, o, stale)
  return run(scope, k, key, factory, o, stale, undefined)
}

/** With `lock`: the holder runs the factory; the others wait for its value, at most `lockTimeout`. */
async function locked<T>(scope: Scope, k: string, key: string, factory: Factory<T>, o: FillOptions<T>, stale: Stale | undefined): Promise<T> {
  const { ctx, namespace } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  const lockKey = lockKeyOf(ctx.options.prefix, k)
  const commandTimeout = ctx.options.l2?.timeout ?? 0
  const deadline = Date.now() + o.lockTimeout
  for (;;) {
    let lock: HeldLock | undefined
    try {
      lock = await tryLock(l2.client, lockKey, o.lockTimeout, commandTimeout)
    } catch (error) {
      reportL2Error(ctx, 'lock', key, error)
      return run(scope, k, key, factory, o, stale, undefined)
    }
    if (lock !== undefined) {
      const held = lock
      return run(scope, k, key, factory, o, stale, () => release(scope, key, held))
    }
    if (stale !== undefined) return serveStale(scope, key, stale, 'lock-held')
    const waiters = (ctx.lockWaiters ??= new LockWaiters(l2.client, lockChannelOf(ctx.options.prefix), (error) =>
      reportL2Error(ctx, 'lock:subscribe', undefined, error),
    ))
    // Register first, then look: a release published in between still wakes us.
    const waiter = waiters.wait(lockKey, Math.max(0, deadline - Date.now()))
    try {
      await waiters.ready()
    } catch (error) {
      waiter.cancel()
      reportL2Error(ctx, 'lock:subscribe', key, error)
      return run(scope, k, key, factory, o, stale, undefined)
    }
    const found = await freshInL2(scope, k, key, o.keep)
    if (found !== undefined) {
      waiter.cancel()
      return found.value as T
    }
    const outcome = await waiter.outcome
    const written = await freshInL2(scope, k, key, o.keep)
    if (written !== undefined) return written.value as T
    if (outcome === 'timeout') {
      ctx.events.emit('lock:timeout', { namespace, key })
      return run(scope, k, key, factory, o, stale, undefined)
    }
    // Woken without a value: the holder's factory failed. Try to take the lock ourselves.
  }
}

async function freshInL2(scope: Scope, k: string, key: string, keep: Keep | undefined): Promise<{ value: unknown } | undefined> {
  const entry = await readL2(scope, k, key, keep)
  if (entry === undefined || (entry.expiresAt !== 0 && entry.expiresAt <= Date.now())) return undefined
  return entry
}

function release(scope: Scope, key: string, lock: HeldLock): void {
  const { ctx } = scope
  const l2 = ctx.l2
  if (l2 === undefined || ctx.closed) return
  unlock(l2.client, lock, lockChannelOf(ctx.options.prefix), ctx.options.l2?.timeout ?? 0).catch((error: unknown) =>
    ctx.events.emit('background:error', { operation: 'unlock', key, error }),
  )
}

/**
 * Runs the factory and writes its result. Resolves with the value, or with `stale` when the
 * factory fails or outlives `softTimeout`/`hardTimeout`; a run that outlives its caller goes on
 * in the background. `settled` is called once the factory and the write are done (lock release).
 */
function run<T>(
  scope: Scope,
  k: string,
  key: string,
  factory: Factory<T>,
  o: FillOptions<T>,
  stale: Stale | undefined,
  settled: (() => void) | undefined,
): Promise<T> {
  const { ctx } = scope
  ctx.counters.factoryCalls++
  // A delete or clear while the factory runs means its result may predate it: do not write it.
  const ticket = ctx.fences.enter(k)
  // A tagged result counts as created when its factory started: a tag invalidated while it ran wins.
  const started = stamp()
  const produced = new Promise<T>((resolve) => resolve(factory()))
  const stored = produced.then(
    async (value) => (ctx.fences.valid(ticket) ? store(scope, k, key, value, o, started) : value),
    (error: unknown) => {
      ctx.counters.factoryErrors++
      throw new FactoryError(key, error)
    },
  )
  const after = (): void => {
    ctx.fences.leave(ticket)
    settled?.()
  }
  stored.then(after, after)

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
          if (stale !== undefined && error instanceof FactoryError) resolve(serveStale(scope, key, stale, 'factory-error', error))
          else reject(error)
        }),
    )
    const giveUp = (reason: 'soft-timeout' | 'hard-timeout') => (): void =>
      finish(() => {
        detach(scope, k, key, stored)
        if (stale !== undefined) resolve(serveStale(scope, key, stale, reason))
        else reject(new FactoryHardTimeoutError(key, o.hardTimeout))
      })
    if (stale !== undefined && o.softTimeout > 0) timers.push(setTimeout(giveUp('soft-timeout'), o.softTimeout))
    if (o.hardTimeout > 0) timers.push(setTimeout(giveUp('hard-timeout'), o.hardTimeout))
  })
}

/** Writes a factory's result as the options say; resolves with the value. */
async function store<T>(scope: Scope, k: string, key: string, value: T, o: FillOptions<T>, started: number): Promise<T> {
  if (value === undefined || (o.shouldCache !== undefined && !o.shouldCache(value))) return value
  let ttl = o.ttl
  if (value === null) {
    if (o.nullTtl === false) return value
    ttl = o.nullTtl
  }
  if (o.jitter > 0) ttl = Math.max(1, Math.round(ttl * (1 - o.jitter * Math.random())))
  const tags = typeof o.tags === 'function' ? checkTags(o.tags(value)) : o.tags
  const keep = ttl === o.ttl ? o.keep : keepFor(o.keep?.grace ?? 0, o.refreshAhead, ttl)
  const prepared = prepare(scope.ctx, k, key, value, ttl, tags, started, keep)
  if (o.background) writeInBackground(scope, prepared)
  else await writeEntries(scope, [prepared], false)
  return value
}

/** Keeps a run that outlived its caller: later misses join it, and its failure becomes an event. */
function detach(scope: Scope, k: string, key: string, running: Promise<unknown>): void {
  const { ctx, namespace } = scope
  const runs = runsOf(ctx)
  runs.set(k, running)
  running.then(
    () => {
      if (runs.get(k) === running) runs.delete(k)
    },
    (error: unknown) => {
      if (runs.get(k) === running) runs.delete(k)
      const wrapped = error instanceof CacheError ? error : new FactoryError(key, error)
      ctx.events.emit('refresh:error', { namespace, key, error: wrapped })
    },
  )
}

function staleInL1(scope: Scope, key: string): Stale | undefined {
  const entry = scope.l1?.get(key)
  if (entry === undefined || entry.g === undefined || entry.e === 0 || entry.e > Date.now()) return undefined
  const gate = scope.ctx.l1Gate
  return gate === undefined || gate(entry) ? { value: entry.v } : undefined
}

function serveStale<T>(scope: Scope, key: string, stale: Stale, reason: StaleReason, error?: CacheError): T {
  scope.ctx.events.emit('stale:served', { namespace: scope.namespace, key, reason, ...(error !== undefined && { error }) })
  return stale.value as T
}
