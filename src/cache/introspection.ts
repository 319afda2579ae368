/**
 * What a cache says about itself: readiness, health, statistics. Shared by every namespace.
 * @internal
 */
import { ReadyTimeoutError } from '../errors.js'
import type { BusStats, CacheStats, Counters } from '../observability/stats.js'
import type { CircuitState } from '../redis/circuit_breaker.js'
import type { CacheContext } from './context.js'

/** The overall state `health()` reports. */
export type HealthStatus = 'ok' | 'degraded' | 'down'

/** What `health()` reports. */
export interface CacheHealth {
  /**
   * `ok`: every configured part answers. `degraded`: Redis or the invalidation bus is down, but the cache still
   * serves (L1, factories). `down`: the cache is closed, or it has no L1 and Redis does not answer.
   */
  status: HealthStatus
  /**
   * False when Redis is configured and did not answer a PING.
   * @deprecated Use `status` (`l2.ok` says the same as this).
   */
  ok: boolean
  /** L1 of every namespace: its size, its bounds and how many entries the bound pushed out. Null without L1. */
  l1: { entries: number; bytes: number; maxEntries: number; maxBytes: number; evictions: number } | null
  /** The PING round trip (within the `health()` timeout) and the circuit breaker. Null without Redis. */
  l2: { ok: boolean; latencyMs: number | null; circuit: string; error?: string } | null
  /**
   * The invalidation bus: whether this node hears invalidations, when it last heard anything, how often the
   * subscription was lost, the last heartbeat round trip, and invalidations waiting to be published. Null without
   * the bus.
   */
  bus: {
    up: boolean
    lastMessageAgeMs: number | null
    reconnects: number
    heartbeatMs: number | null
    pending: number
  } | null
}

/** Resolves once Redis answers and the bus subscription (if any) is confirmed; rejects after `ms`. */
export async function waitReady(ctx: CacheContext, ms: number): Promise<void> {
  const { l2, announcer, events } = ctx
  if (l2 === undefined) return
  let timer: NodeJS.Timeout | undefined
  let listener: ((payload: { state: 'up' | 'down' }) => void) | undefined
  let redisAnswered = false
  let busUp = announcer === undefined || announcer.up
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const waitingFor: Array<'redis' | 'bus'> = []
      if (!redisAnswered) waitingFor.push('redis')
      if (!busUp) waitingFor.push('bus')
      reject(new ReadyTimeoutError(ms, waitingFor))
    }, ms)
  })
  const subscribed = busUp
    ? Promise.resolve()
    : new Promise<void>((resolve) => {
        listener = (payload) => {
          if (payload.state !== 'up') return
          busUp = true
          resolve()
        }
        events.on('bus:state', listener)
      })
  const pinged = l2.ping().then(() => {
    redisAnswered = true
  })
  try {
    await Promise.race([Promise.all([pinged, subscribed]), expired])
  } finally {
    clearTimeout(timer)
    if (listener !== undefined) events.off('bus:state', listener)
  }
}

/** The cache's health, answered within `timeoutMs` whatever Redis does (a PING raced against a timer). */
export async function healthOf(ctx: CacheContext, timeoutMs: number): Promise<CacheHealth> {
  const l2 = ctx.l2
  const l1 = l1Health(ctx)
  const busStats = ctx.announcer?.stats()
  const bus =
    busStats === undefined
      ? null
      : {
          up: busStats.up,
          lastMessageAgeMs: busStats.lastMessageAgeMs,
          reconnects: busStats.reconnects,
          heartbeatMs: busStats.heartbeatMs,
          pending: busStats.pending,
        }
  if (l2 === undefined) return { status: ctx.closed ? 'down' : 'ok', ok: true, l1, l2: null, bus }
  if (ctx.closed) {
    const l2Health = { ok: false, latencyMs: null, circuit: l2.circuit, error: 'the cache is closed' }
    return { status: 'down', ok: false, l1, l2: l2Health, bus }
  }
  const l2Health = await pingWithin(l2, timeoutMs)
  const status: HealthStatus = l2Health.ok
    ? bus === null || bus.up
      ? 'ok'
      : 'degraded'
    : l1 === null
      ? 'down'
      : 'degraded'
  return { status, ok: l2Health.ok, l1, l2: l2Health, bus }
}

async function pingWithin(
  l2: NonNullable<CacheContext['l2']>,
  timeoutMs: number,
): Promise<NonNullable<CacheHealth['l2']>> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer a PING within ${timeoutMs} ms`)), timeoutMs)
    timer.unref()
  })
  const pinged = l2.ping()
  pinged.catch(() => undefined) // it may settle after the timer: nobody waits for it then
  try {
    const latencyMs = await Promise.race([pinged, expired])
    return { ok: true, latencyMs, circuit: l2.circuit }
  } catch (error) {
    return { ok: false, latencyMs: null, circuit: l2.circuit, error: (error as Error).message }
  } finally {
    clearTimeout(timer)
  }
}

export function statsOf(ctx: CacheContext): CacheStats {
  const { counters: c, l2 } = ctx
  const l1 = ctx.l1
  let staleServed = 0
  for (const n of c.staleServed.values()) staleServed += n
  return {
    l1:
      l1 === undefined
        ? null
        : { hits: c.l1Hits, misses: c.l1Misses, entries: l1.entries, bytes: l1.bytes, evictions: l1.evictions },
    l2: l2 === undefined ? null : { hits: c.l2Hits, misses: c.l2Misses, errors: c.l2Errors, circuit: l2.circuit },
    decodeErrors: c.decodeErrors,
    factory: { calls: c.factoryCalls, errors: c.factoryErrors },
    staleServed,
    locks: { waits: c.lockWaits, timeouts: c.lockTimeouts },
    writes: c.writes,
    deletes: c.deletes,
  }
}

/**
 * A live view of a cache for exporters (metrics read at scrape time): its counters (read, never written), L1, the
 * circuit and the bus. Cheap: nothing is copied but the bus's few numbers.
 */
export interface CacheObservation {
  readonly counters: Readonly<Counters>
  readonly l1: CacheHealth['l1']
  readonly circuit: CircuitState | null
  readonly bus: BusStats | null
  readonly closed: boolean
}

export function observe(ctx: CacheContext): CacheObservation {
  return {
    counters: ctx.counters,
    l1: l1Health(ctx),
    circuit: ctx.l2 === undefined ? null : ctx.l2.circuit,
    bus: ctx.announcer?.stats() ?? null,
    closed: ctx.closed,
  }
}

function l1Health(ctx: CacheContext): CacheHealth['l1'] {
  const store = ctx.l1
  return store === undefined
    ? null
    : {
        entries: store.entries,
        bytes: store.bytes,
        maxEntries: store.maxEntries,
        maxBytes: store.maxBytes,
        evictions: store.evictions,
      }
}
