import { Bus } from '../bus/bus.js'
import { filterByTags } from '../tags/tag_store.js'
import { Cache } from './cache.js'
import { createContext } from './context.js'
import { resolveOptions, type CacheOptions } from './options.js'

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
  if (context.l2 !== undefined) context.tagFilter = filterByTags
  if (resolved.bus !== undefined) context.announcer = new Bus(context, resolved.bus)
  return new Cache(context, resolved.namespace)
}
