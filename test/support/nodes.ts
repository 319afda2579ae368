/**
 * Builders for bus tests: a "node" is a cache with its own Redis connections, as one app
 * server would have. Helpers wait for events instead of sleeping.
 */
import { afterAll, afterEach, beforeAll } from 'vitest'
import { Bus } from '../../src/bus/bus.js'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create_cache.js'
import type { CacheOptions } from '../../src/cache/options.js'
import type { CacheEventName, CacheEvents } from '../../src/observability/events.js'
import { RedisServer } from './redis_server.js'

export function busOf(cache: Cache): Bus {
  const announcer = cache.scope.ctx.announcer
  if (!(announcer instanceof Bus)) throw new Error('this cache has no bus')
  return announcer
}

/** Resolves with the first `name` event matching `when` (bounded by `timeoutMs`). */
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

/** Waits until the node's bus subscription is confirmed. */
export async function busUp(cache: Cache, timeoutMs = 5000): Promise<void> {
  if (busOf(cache).up) return
  await nextEvent(cache, 'bus:state', (p) => p.state === 'up', timeoutMs)
}

/** A cache on `url` with the bus up. */
export async function startNode(url: string, options: CacheOptions = {}): Promise<Cache> {
  const cache = createCache({ redis: url, namespace: 'app', ...options })
  if (options.bus !== false) await busUp(cache)
  return cache
}

let marker = 0
/** Resolves once `to` has heard every message `from` published before this call (the bus delivers in order). */
export async function synced(from: Cache, to: Cache): Promise<void> {
  const key = `__sync__${++marker}`
  const heard = nextEvent(to, 'bus:message', (m) => m.items.includes(key))
  await from.delete(key)
  await heard
}

/**
 * A redis-server for the calling describe block, and the nodes a test starts on it: the server
 * starts before the tests, every node is closed (and Redis flushed) after each test, the server
 * is closed after them all.
 */
export function useNodes(): { readonly server: RedisServer; readonly nodes: Cache[] } {
  let server: RedisServer | undefined
  const nodes: Cache[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()))
    await server?.cli('flushall')
  })
  afterAll(async () => server?.close())
  return {
    get server() {
      if (server === undefined) throw new Error('useNodes: the server starts in beforeAll')
      return server
    },
    nodes,
  }
}
