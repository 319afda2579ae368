/** `createCache()`: resolves the options, builds the shared context and its bus, returns the facade. */
import { Bus, type BusHost } from '../bus/bus.js'
import type { MessageKind } from '../bus/message.js'
import { Cache } from './cache.js'
import { createContext, type CacheContext } from './context.js'
import { resolveOptions, type CacheOptions } from './options.js'
import { revalidateL1 } from './revalidate.js'

/** How long operations wait at startup for the bus when commands have no timeout (`l2.timeout: 0`). */
const STARTUP_WAIT = 1000

/**
 * Creates a cache: an in-process LRU (L1) over Redis (L2) when `redis` is given, L1 alone otherwise.
 *
 * ```ts
 * const cache = createCache({ redis: process.env.REDIS_URL, namespace: 'shop', ttl: '10m' })
 * const product = await cache.getOrSet('product:1', () => db.product(1), { ttl: '1h' })
 * ```
 * @throws TypeError when an option is invalid (the message names it and the value given).
 */
export function createCache(options?: CacheOptions): Cache {
  const resolved = resolveOptions(options)
  const context = createContext(resolved)
  if (resolved.bus !== undefined) {
    const bus = new Bus(busHost(context), resolved.bus)
    context.announcer = bus
    // Until the first subscription is confirmed (bounded by one command timeout), operations that reach L2
    // wait for it, so that nothing is installed in L1 while this node cannot hear invalidations.
    const startup = bus.firstUp(resolved.l2?.timeout || STARTUP_WAIT)
    context.startup = startup
    void startup.then(() => {
      if (context.startup === startup) context.startup = undefined
    })
  }
  return new Cache(context, resolved.namespace)
}

/** What the bus may do to the cache: gate L1, apply invalidations heard from other nodes, drop everything. */
function busHost(ctx: CacheContext): BusHost {
  const connection = ctx.connection
  if (connection === undefined) throw new TypeError('The bus needs Redis')
  return {
    connection,
    prefix: ctx.options.prefix,
    events: ctx.events,
    setL1Gate(gate) {
      ctx.l1Gate = gate
    },
    invalidate(namespace: string, kind: MessageKind, items: readonly string[]) {
      const scope = ctx.scopes.get(namespace)
      if (scope === undefined) return // no L1 of that namespace here: nothing to drop
      if (kind === 'keys') {
        for (const key of items) {
          ctx.fences.invalidate(scope.prefix + key)
          scope.l1?.delete(key)
        }
        return
      }
      if (kind === 'clear') {
        ctx.fences.invalidateAll()
        scope.l1?.clear()
      } else {
        // Results in flight carrying one of the tags are not installed (checked once their tags are known).
        ctx.fences.invalidateTags(scope.prefix, items)
        scope.l1?.deleteTagged(new Set(items))
      }
    },
    fenceAll() {
      ctx.fences.invalidateAll()
    },
    revalidate(before: number) {
      return revalidateL1(ctx, before)
    },
    dropAll() {
      ctx.fences.invalidateAll()
      let dropped = 0
      for (const scope of ctx.scopes.values()) {
        dropped += scope.l1?.entries ?? 0
        scope.l1?.clear()
      }
      return dropped
    },
  }
}
