/**
 * Every contender of the bench, set up in one place with equivalent settings: the same TTL,
 * the same L1 size (in entries), the same Redis server, values of the same shape.
 *
 * - tiercache: L1 (lru-cache) + L2 (ioredis) + its invalidation bus (on by default), msgpack;
 *   `tiercacheL2` has `l1: false`; `tiercacheNoBus` has `bus: false`.
 * - raw: the floors. An `lru-cache` read inside an async function, and ioredis + msgpackr
 *   (same Packr options as tiercache's codec) on its own connection.
 * - bentocache: memory L1 (its default `serialize: true`: bentocache 1.6.1 with `serialize: false`
 *   throws in its bus handler on the first invalidation from another node) + Redis L2 + Redis
 *   bus; `bentoL2` is a store with no L1 layer (its documented way).
 * - cache-manager 7: a memory Keyv (cacheable's CacheableMemory with `lruSize`) + @keyv/redis;
 *   `cmL2` has the Redis store alone.
 */
import KeyvRedis from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { CacheableMemory } from 'cacheable'
import { Redis } from 'ioredis'
import { Keyv } from 'keyv'
import { LRUCache } from 'lru-cache'
import type { Packr } from 'msgpackr'
import { createCache, type Cache } from '../src/index.js'
import { benchPackr } from './values.js'

/** TTL of every entry written by any contender. */
export const TTL_MS = 10 * 60 * 1000
/** L1 capacity, in entries, of every contender that has an L1. */
export const L1_ENTRIES = 10_000

export type Bento = BentoCache<{ cache: ReturnType<typeof bentostore> }>
export type CacheManager = ReturnType<typeof createCacheManager>

export interface Raw {
  lru: LRUCache<string, object>
  redis: Redis
  packr: Packr
}

export interface Peers {
  tiercache: Cache
  tiercacheL2: Cache
  /** L1 + L2 without the invalidation bus: the dual write alone, for comparison with a raw SET. */
  tiercacheNoBus: Cache
  raw: Raw
  bento: Bento
  bentoL2: Bento
  cm: CacheManager
  cmL2: CacheManager
  close(): Promise<void>
}

/** One bentocache "node" as the bench uses it: L1 + L2 + bus. */
export function bentoNode(redisUrl: string): Bento {
  return bento(redisUrl, true)
}

function bento(redisUrl: string, withL1: boolean): Bento {
  const { hostname, port } = new URL(redisUrl)
  const connection = { host: hostname, port: Number(port) }
  let store = bentostore()
  if (withL1) store = store.useL1Layer(memoryDriver({ maxItems: L1_ENTRIES }))
  store = store.useL2Layer(redisDriver({ connection }))
  if (withL1) store = store.useBus(redisBusDriver({ connection }))
  return new BentoCache({ default: 'cache', ttl: TTL_MS, stores: { cache: store } })
}

function cacheManager(redisUrl: string, withL1: boolean): CacheManager {
  const redisStore = new Keyv({ store: new KeyvRedis(redisUrl), namespace: 'cm' })
  const stores = withL1
    ? [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize: L1_ENTRIES }) }), redisStore]
    : [redisStore]
  return createCacheManager({ ttl: TTL_MS, stores })
}

/** Creates every contender against the Redis at `redisUrl`. */
export async function createPeers(redisUrl: string): Promise<Peers> {
  const tiercache = createCache({ redis: redisUrl, namespace: 'bench', ttl: TTL_MS, l1: { maxEntries: L1_ENTRIES } })
  const tiercacheL2 = createCache({ redis: redisUrl, namespace: 'bench', ttl: TTL_MS, l1: false })
  const tiercacheNoBus = createCache({
    redis: redisUrl,
    namespace: 'bench-nobus',
    ttl: TTL_MS,
    l1: { maxEntries: L1_ENTRIES },
    bus: false,
  })
  const raw: Raw = { lru: new LRUCache({ max: L1_ENTRIES }), redis: new Redis(redisUrl), packr: benchPackr() }
  const peers: Peers = {
    tiercache,
    tiercacheL2,
    tiercacheNoBus,
    raw,
    bento: bento(redisUrl, true),
    bentoL2: bento(redisUrl, false),
    cm: cacheManager(redisUrl, true),
    cmL2: cacheManager(redisUrl, false),
    async close() {
      await Promise.allSettled([
        tiercache.close(),
        tiercacheL2.close(),
        tiercacheNoBus.close(),
        raw.redis.quit(),
        peers.bento.disconnect(),
        peers.bentoL2.disconnect(),
        peers.cm.disconnect(),
        peers.cmL2.disconnect(),
      ])
    },
  }
  // Connect everything before measuring anything.
  await Promise.all([
    tiercache.health(),
    tiercacheL2.health(),
    tiercacheNoBus.health(),
    raw.redis.ping(),
    peers.bento.get({ key: 'warmup' }),
    peers.bentoL2.get({ key: 'warmup' }),
    peers.cm.get('warmup'),
    peers.cmL2.get('warmup'),
  ])
  return peers
}
