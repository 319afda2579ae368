/**
 * The one builder for test caches (in the spirit of bentocache's CacheFactory): `makeCache(options)`
 * for any cache, `makeNode(url, options)` for one app server on a Redis, ready (Redis answers and the
 * bus hears invalidations) before it returns. Every cache made here is closed after each test (see
 * test/support/setup.ts), so a test only arranges, acts and asserts. One `nextEvent` for every test.
 */
import { afterEach } from 'vitest'
import type { Bus } from '../../src/bus/bus.js'
import { unsafeExposeInternals, type CacheInternals } from '../../src/cache/internals.js'
import { createCache, type Cache, type CacheEventName, type CacheEvents, type CacheOptions } from '../../src/index.js'

const made: Cache[] = []

/** A cache closed after the test. Without `redis` it runs on L1 alone; `l2.timeout` defaults to 1 s in tests. */
export function makeCache(options: CacheOptions = {}): Cache {
  const cache = createCache({ l2: { timeout: 1000 }, ...options, ...(options.redis === undefined && { l2: false }) })
  made.push(cache)
  return cache
}

/** `makeCache`, then waits for `ready()`: Redis answers and the bus hears invalidations. */
export async function readyCache(options: CacheOptions = {}): Promise<Cache> {
  const cache = makeCache(options)
  await cache.ready()
  return cache
}

/** One app server: a cache of its own on `url` (own connections, namespace `app` unless given), ready. */
export async function makeNode(url: string, options: CacheOptions = {}): Promise<Cache> {
  return readyCache({ redis: url, namespace: 'app', ...options })
}

/** Closes every cache made so far (registered after each test by test/support/setup.ts). */
export async function closeAll(): Promise<void> {
  await Promise.all(made.splice(0).map((cache) => cache.close()))
}

/** @deprecated closing is automatic (test/support/setup.ts); kept while older files still call it. */
export function autoClose(): void {
  afterEach(closeAll)
}

/** Resolves with the first `name` event matching `when`; rejects after `timeoutMs` (no sleeps: wait for the event). */
export function nextEvent<K extends CacheEventName>(
  cache: Cache,
  name: K,
  when: (payload: CacheEvents[K]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<CacheEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cache.off(name, listener)
      reject(new Error(`no ${name} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (payload: CacheEvents[K]): void => {
      if (!when(payload)) return
      clearTimeout(timer)
      cache.off(name, listener)
      resolve(payload)
    }
    cache.on(name, listener)
  })
}

/** The internals of a cache (its scope, L1, context, L2), for assertions no public call can make. */
export function internals(cache: Cache): CacheInternals {
  return unsafeExposeInternals(cache)
}

/** The bus of a cache made with Redis and the bus on. */
export function busOf(cache: Cache): Bus {
  const announcer = internals(cache).ctx.announcer
  if (announcer === undefined) throw new Error('this cache has no bus')
  return announcer as Bus
}

let marker = 0
/** Resolves once `to` has heard every message `from` published before this call (the bus delivers in order). */
export async function synced(from: Cache, to: Cache): Promise<void> {
  const key = `__sync__${++marker}`
  const heard = nextEvent(to, 'bus:message', (m) => m.items.includes(key))
  await from.delete(key)
  await heard
}

/** Waits until the cache's bus subscription is confirmed (after a restart or a lost connection). */
export async function busUp(cache: Cache, timeoutMs = 5000): Promise<void> {
  if (busOf(cache).up) return
  await nextEvent(cache, 'bus:state', (p) => p.state === 'up', timeoutMs)
}
