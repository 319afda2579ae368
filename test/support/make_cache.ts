/** A builder for test caches that remembers what it made, so one `closeAll()` cleans up. */
import { afterEach } from 'vitest'
import { createCache, type Cache, type CacheEventName, type CacheEvents, type CacheOptions } from '../../src/index.js'

const made: Cache[] = []

export function makeCache(options: CacheOptions = {}): Cache {
  const cache = createCache({ l2: { timeout: 1000 }, ...options, ...(options.redis === undefined && { l2: false }) })
  made.push(cache)
  return cache
}

export async function closeAll(): Promise<void> {
  await Promise.all(made.splice(0).map((cache) => cache.close()))
}

/** Registers `closeAll` after each test of the calling file. */
export function autoClose(): void {
  afterEach(closeAll)
}

/** Resolves with the next payload of `event` (no sleeps: tests wait for what they expect). */
export function nextEvent<K extends CacheEventName>(cache: Cache, event: K): Promise<CacheEvents[K]> {
  return new Promise((resolve) => {
    const listener = (payload: CacheEvents[K]): void => {
      cache.off(event, listener)
      resolve(payload)
    }
    cache.on(event, listener)
  })
}

/** `makeCache`, then waits for `ready()`: Redis answers and the bus hears invalidations (no L1 drop to come). */
export async function readyCache(options: CacheOptions = {}): Promise<Cache> {
  const cache = makeCache(options)
  await cache.ready()
  return cache
}
