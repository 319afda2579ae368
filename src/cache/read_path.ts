/**
 * The L2 read path shared by `get`, `getOrSet` and `getMany`: decode what Redis returned (a
 * miss plus an event for garbage), drop logically expired entries, and promote the rest to L1
 * with a TTL no longer than what remains in L2, unless an invalidation fenced the read.
 * @internal
 */
import { carriesTags, decodeEntry, readHeader, type StoredEntry } from '../codec/envelope.js'
import { CacheClosedError, DecodeError } from '../errors.js'
import { filterByTags } from './tags.js'
import type { Lease, LeaseRequest } from '../tiers/redis_tier.js'
import type { CacheContext, Scope } from './context.js'
import type { Ticket } from './fences.js'
import { emitMiss, reportL2Error } from './reporting.js'

/**
 * How the factory runner keeps entries: `grace` ms past their logical expiry (served stale by
 * `getOrSet` only), and checked again `refreshWindow` ms before it (refresh ahead). With it,
 * `readL2` also returns stale entries within grace; the caller compares `expiresAt` with now.
 */
export interface ExpiryPolicy {
  grace: number
  refreshWindow: number
}

/** The `reviewAt` of an L1 entry kept this way (see MemoryEntry), or undefined when none is needed. */
export function reviewTimeOf(expiresAt: number, expiry: ExpiryPolicy | undefined): number | undefined {
  if (expiry === undefined || expiresAt === 0) return undefined
  if (expiry.refreshWindow > 0) return expiresAt - expiry.refreshWindow
  return expiry.grace > 0 ? expiresAt : undefined
}

/** The read of `get`: coalesced with the reads of the same tick, promoted into L1 unless fenced. */
export async function readL2(
  scope: Scope,
  k: string,
  key: string,
  expiry?: ExpiryPolicy,
): Promise<StoredEntry | undefined> {
  const { ctx, namespace } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  if (ctx.closed) throw new CacheClosedError()
  // Without L1 nothing is promoted, so there is nothing to fence.
  const ticket = scope.l1 === undefined ? undefined : ctx.fences.enter(k)
  try {
    let raw: Buffer | null
    try {
      raw = await (ctx.replicaRoutes?.allows(k, scope.prefix) === true ? fromReplica(scope, k, key) : l2.get(k))
      if (carriesTags(raw)) raw = (await filterByTags(scope, [raw], [key]))[0] ?? null
    } catch (error) {
      reportL2Error(ctx, 'get', key, error)
      emitMiss(ctx, namespace, key)
      return undefined
    }
    return acceptL2(scope, k, key, raw, ticket, Date.now(), expiry)
  } finally {
    if (ticket !== undefined) ctx.fences.leave(ticket)
  }
}

/** What the read of a `getOrSet` found: the entry (fresh or within grace), and the lease its fill must hold. */
export interface FillRead {
  entry: StoredEntry | undefined
  /** Undefined when the entry needs no fill, or when Redis failed (the fill then stays in this node's L1). */
  lease: Lease | undefined
}

/**
 * The read of a `getOrSet` (ARCHITECTURE.md, "Leases"): the entry, and in the same round trip a lease when it
 * needs a fill (absent, garbage, expired, or within `request.refreshWindow` of expiry). An entry that looked fine
 * to Redis but turns out to be a miss here (a tag invalidated it, its checksum failed) gets its lease in one more
 * round trip, before any factory runs. Failures are reported and read as a miss without a lease.
 */
export async function readForFill(
  scope: Scope,
  k: string,
  key: string,
  expiry: ExpiryPolicy | undefined,
  request: LeaseRequest,
): Promise<FillRead> {
  const { ctx, namespace } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  if (ctx.closed) throw new CacheClosedError()
  const ticket = scope.l1 === undefined ? undefined : ctx.fences.enter(k)
  try {
    let raw: Buffer | null
    let lease: Lease | undefined
    try {
      const hit =
        ctx.replicaRoutes?.allows(k, scope.prefix) === true ? await freshOnReplica(scope, k, key, request) : null
      ;({ raw, lease } = hit === null ? await l2.readWithLease(k, request) : { raw: hit, lease: undefined })
      if (carriesTags(raw)) raw = (await filterByTags(scope, [raw], [key]))[0] ?? null
    } catch (error) {
      reportL2Error(ctx, 'get', key, error)
      emitMiss(ctx, namespace, key)
      return { entry: undefined, lease: undefined }
    }
    const now = Date.now()
    const entry = acceptL2(scope, k, key, raw, ticket, now, expiry)
    if (lease === undefined && (entry === undefined || (entry.expiresAt !== 0 && entry.expiresAt <= now))) {
      try {
        lease = await l2.takeLease(k, request)
      } catch (error) {
        reportL2Error(ctx, 'lease', key, error)
      }
    }
    return { entry, lease }
  } finally {
    if (ticket !== undefined) ctx.fences.leave(ticket)
  }
}

/**
 * The L2 part of `getMany`: one MGET (per slot on a Cluster) for the keys L1 did not answer (`missing`, indexes into
 * `keys`; `ks` their Redis keys), tags checked in one more round trip when any entry carries tags, each hit accepted
 * (and promoted, fenced) into `out`. A Redis failure leaves the misses `undefined` and is reported.
 */
export async function readManyL2<T>(
  scope: Scope,
  keys: readonly string[],
  ks: readonly string[],
  missing: readonly number[],
  out: Array<T | undefined>,
): Promise<Array<T | undefined>> {
  const { ctx, l1 } = scope
  const l2 = ctx.l2 as NonNullable<CacheContext['l2']>
  await ctx.startup // until this node hears invalidations (bounded)
  const tickets = l1 === undefined ? undefined : ks.map((k) => ctx.fences.enter(k))
  try {
    const routes = ctx.replicaRoutes
    const onReplica = routes !== undefined && ks.every((k) => routes.allows(k, scope.prefix))
    let raws = await (onReplica
      ? l2.mget(ks, true).catch((error: unknown) => {
          reportL2Error(ctx, 'replica getMany', undefined, error)
          return l2.mget(ks)
        })
      : l2.mget(ks))
    if (raws.some(carriesTags))
      raws = await filterByTags(
        scope,
        raws,
        missing.map((i) => keys[i] as string),
      )
    const now = Date.now()
    for (let j = 0; j < missing.length; j++) {
      const i = missing[j] as number
      const entry = acceptL2(scope, ks[j] as string, keys[i] as string, raws[j] ?? null, tickets?.[j], now)
      out[i] = entry?.value as T | undefined
    }
  } catch (error) {
    reportL2Error(ctx, 'getMany', undefined, error)
  } finally {
    if (tickets !== undefined) for (const ticket of tickets) ctx.fences.leave(ticket)
  }
  return out
}

/**
 * A read on the replica (`l2.replicas`, for a key no invalidation touched lately: see ReplicaRoutes); when the
 * replica fails, reported as `l2:error` (operation 'replica get') and read from the primary instead.
 */
function fromReplica(scope: Scope, k: string, key: string): Promise<Buffer | null> {
  const l2 = scope.ctx.l2 as NonNullable<CacheContext['l2']>
  return l2.getFromReplica(k).catch((error: unknown) => {
    reportL2Error(scope.ctx, 'replica get', key, error)
    return l2.get(k)
  })
}

/**
 * The replica's copy of a `getOrSet` entry when it needs no fill (there, and not within `refreshWindow` of its
 * expiry); null otherwise: the read then takes its lease on the primary (a miss costs one more round trip).
 */
async function freshOnReplica(scope: Scope, k: string, key: string, request: LeaseRequest): Promise<Buffer | null> {
  const l2 = scope.ctx.l2 as NonNullable<CacheContext['l2']>
  let raw: Buffer | null
  try {
    raw = await l2.getFromReplica(k)
  } catch (error) {
    reportL2Error(scope.ctx, 'replica get', key, error)
    return null
  }
  const header = raw === null ? undefined : readHeader(raw)
  if (header === undefined) return null
  return header.expiresAt === 0 || header.expiresAt - request.refreshWindow > Date.now() ? raw : null
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
  expiry?: ExpiryPolicy,
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
    const decodeError = new DecodeError(key, error)
    ctx.events.emit('decode:error', { namespace, key, error: decodeError })
    emitMiss(ctx, namespace, key)
    return undefined
  }
  const grace = expiry?.grace ?? 0
  if (entry.expiresAt !== 0 && entry.expiresAt <= now) {
    ctx.counters.l2Misses++
    emitMiss(ctx, namespace, key)
    if (entry.expiresAt + grace <= now) return undefined
  } else {
    ctx.counters.l2Hits++
    if (ctx.events.hitMissWatched) ctx.events.emit('hit', { namespace, key, layer: 'l2' })
  }
  const l1 = scope.l1
  if (
    l1 !== undefined &&
    ticket !== undefined &&
    !entry.counter &&
    ctx.fences.validFor(ticket, scope.prefix, entry.tags)
  ) {
    const remaining = entry.expiresAt === 0 ? 0 : entry.expiresAt + grace - now
    const reviewAt = reviewTimeOf(entry.expiresAt, expiry)
    const installed = {
      value: entry.value,
      expiresAt: entry.expiresAt,
      tags: entry.tags,
      installedAt: now,
      checksum: entry.checksum,
      createdAt: entry.createdAt,
    }
    l1.set(key, reviewAt === undefined ? installed : { ...installed, reviewAt }, l1Ttl(ctx, remaining), raw.length)
  }
  return entry
}

/** L1 TTL: what is left in L2 (0 = none), capped by `l1.ttl`. */
export function l1Ttl(ctx: CacheContext, remaining: number): number {
  const cap = ctx.options.l1?.ttl ?? 0
  if (cap === 0) return remaining
  return remaining === 0 ? cap : Math.min(cap, remaining)
}
