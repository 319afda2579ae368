/**
 * What a cache says about itself: readiness, health, statistics. Shared by every namespace.
 * @internal
 */
import { ReadyTimeoutError } from '../errors.js'
import type { CacheStats } from '../observability/stats.js'
import type { CacheContext } from './context.js'

/** What `health()` reports. */
export interface CacheHealth {
  /** False when Redis is configured and did not answer a PING. */
  ok: boolean
  l1: { entries: number; bytes: number } | null
  l2: { ok: boolean; latencyMs: number | null; circuit: string; error?: string } | null
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

export async function healthOf(ctx: CacheContext): Promise<CacheHealth> {
  const l2 = ctx.l2
  const l1 = l1Totals(ctx)
  if (l2 === undefined) return { ok: true, l1, l2: null }
  try {
    const latencyMs = await l2.ping()
    return { ok: true, l1, l2: { ok: true, latencyMs, circuit: l2.circuit } }
  } catch (error) {
    return { ok: false, l1, l2: { ok: false, latencyMs: null, circuit: l2.circuit, error: (error as Error).message } }
  }
}

export function statsOf(ctx: CacheContext): CacheStats {
  const { counters: c, l2 } = ctx
  const l1 = l1Totals(ctx)
  return {
    l1: l1 === null ? null : { hits: c.l1Hits, misses: c.l1Misses, ...l1 },
    l2: l2 === undefined ? null : { hits: c.l2Hits, misses: c.l2Misses, errors: c.l2Errors, circuit: l2.circuit },
    decodeErrors: c.decodeErrors,
    factory: { calls: c.factoryCalls, errors: c.factoryErrors },
    writes: c.writes,
    deletes: c.deletes,
  }
}

/** Entries and bytes of the cache's L1 (every namespace); null without L1. */
function l1Totals(ctx: CacheContext): { entries: number; bytes: number } | null {
  const store = ctx.l1
  return store === undefined ? null : { entries: store.entries, bytes: store.bytes }
}
