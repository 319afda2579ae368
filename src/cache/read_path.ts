/**
 * The L2 read path shared by `get`, `getOrSet` and `getMany`: decode what Redis returned (a
 * miss plus an event for garbage), drop logically expired entries, and promote the rest to L1
 * with a TTL no longer than what remains in L2, unless an invalidation fenced the read.
 * @internal
 */
import { carriesTags, decodeEntry, type StoredEntry } from '../codec/envelope.js'
import { CacheClosedError, CacheError, DecodeError, L2CommandError } from '../errors.js'
import type { CacheContext, Scope } from './context.js'
import type { Ticket } from './fences.js'

/**
 * How the factory runner keeps entries: `grace` ms past their logical expiry (served stale by
 * `getOrSet` only), and checked again `refreshWindow` ms before it (refresh ahead). With it,
 * `readL2` also returns stale entries within grace; the caller compares `expiresAt` with now.
 */
export interface Keep {
  grace: number
  refreshWindow: number
}

/** The `g` field of an L1 entry kept this way (see MemoryEntry), or undefined when none is needed. */
export function checkAt(expiresAt: number, keep: Keep | undefined): number | undefined {
  if (keep === undefined || expiresAt === 0) return undefined
  if (keep.refreshWindow > 0) return expiresAt - keep.refreshWindow
  return keep.grace > 0 ? expiresAt : undefined
}

export async function readL2(scope: Scope, k: string, key: string, keep?: Keep): Promise<StoredEntry | undefined> {
  const { ctx, namespace } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  if (ctx.closed) throw new CacheClosedError('The cache is closed')
  // Without L1 nothing is promoted, so there is nothing to fence.
  const ticket = scope.l1 === undefined ? undefined : ctx.fences.enter(k)
  try {
    let raw: Buffer | null
    try {
      raw = await l2.get(k)
      if (ctx.tagFilter !== undefined && carriesTags(raw)) raw = (await ctx.tagFilter(scope, [raw]))[0] ?? null
    } catch (error) {
      reportL2Error(ctx, 'get', key, error)
      emitMiss(ctx, namespace, key)
      return undefined
    }
    return acceptL2(scope, k, key, raw, ticket, Date.now(), keep)
  } finally {
    if (ticket !== undefined) ctx.fences.leave(ticket)
  }
}

/** Turns what Redis returned into an entry (or a miss), promoting it to L1 unless fenced. */
export function acceptL2(
  scope: Scope,
  k: string,
  key: string,
  raw: Buffer | null,
  /** Taken before the read; undefined when there is no L1 to promote into. */
  ticket: Ticket | undefined,
  now: number,
  keep?: Keep,
): StoredEntry | undefined {
  const { ctx, namespace } = scope
  if (raw === null) {
    ctx.counters.l2Misses++
    emitMiss(ctx, namespace, key)
    return undefined
  }
  let entry: StoredEntry
  try {
    entry = decodeEntry(ctx.options.codec, raw)
  } catch (error) {
    ctx.counters.decodeErrors++
    const decodeError = new DecodeError(key, (error as Error).message, { cause: error })
    ctx.events.emit('decode:error', { namespace, key, error: decodeError })
    emitMiss(ctx, namespace, key)
    return undefined
  }
  const grace = keep?.grace ?? 0
  if (entry.expiresAt !== 0 && entry.expiresAt <= now) {
    ctx.counters.l2Misses++
    emitMiss(ctx, namespace, key)
    if (entry.expiresAt + grace <= now) return undefined
  } else {
    ctx.counters.l2Hits++
    if (ctx.events.hitMissWatched) ctx.events.emit('hit', { namespace, key, layer: 'l2' })
  }
  const l1 = scope.l1
  if (l1 !== undefined && ticket !== undefined && !entry.counter && ctx.fences.valid(ticket)) {
    const remaining = entry.expiresAt === 0 ? 0 : entry.expiresAt + grace - now
    const g = checkAt(entry.expiresAt, keep)
    const installed = { v: entry.value, e: entry.expiresAt, t: entry.tags, at: now }
    l1.set(key, g === undefined ? installed : { ...installed, g }, l1Ttl(ctx, remaining), raw.length)
  }
  return entry
}

/** L1 TTL: what is left in L2 (0 = none), capped by `l1.ttl`. */
export function l1Ttl(ctx: CacheContext, remaining: number): number {
  const cap = ctx.options.l1?.ttl ?? 0
  if (cap === 0) return remaining
  return remaining === 0 ? cap : Math.min(cap, remaining)
}

export function emitMiss(ctx: CacheContext, namespace: string, key: string): void {
  if (ctx.events.hitMissWatched) ctx.events.emit('miss', { namespace, key })
}

export function reportL2Error(ctx: CacheContext, operation: string, key: string | undefined, error: unknown): void {
  ctx.counters.l2Errors++
  const wrapped = error instanceof CacheError ? error : new L2CommandError(String(error), { cause: error })
  ctx.events.emit('l2:error', { operation, key, error: wrapped })
}
