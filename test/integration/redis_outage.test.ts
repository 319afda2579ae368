/**
 * Contract point 6: Redis down or slow is not an outage of the app. The server is really killed,
 * frozen (SIGSTOP) and restarted. Any unhandled rejection fails the run (vitest reports them).
 */
import { Redis } from 'ioredis'
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { L2CommandError, L2TimeoutError, L2UnavailableError } from '../../src/index.js'
import { internals, makeCache, nextEvent } from '../support/make_cache.js'
import { RedisServer } from '../support/redis_server.js'

let server: RedisServer
const clients: Redis[] = []
beforeEach(async () => {
  await server?.close()
  server = await RedisServer.start()
})
afterAll(async () => {
  for (const client of clients) client.disconnect()
  await server.close()
})

function client(): Redis {
  const c = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  c.on('error', () => undefined)
  clients.push(c)
  return c
}

const isL2Failure = (e: unknown): boolean =>
  e instanceof L2CommandError || e instanceof L2TimeoutError || e instanceof L2UnavailableError

describe('Redis killed', () => {
  it('reads fall back to L1 (within bus.maxStaleness), then to a miss; getOrSet falls back to the factory', async () => {
    const cache = makeCache({ redis: client(), namespace: 'o1', l2: { timeout: 200 }, bus: { maxStaleness: '1m' } })
    await cache.ready()
    await cache.set('cached', 'from L1')
    await server.kill()
    expect(await cache.get('cached')).toBe('from L1')
    const errors: string[] = []
    cache.on('l2:error', ({ error }) => errors.push(error.code))
    expect(await cache.get('not-cached')).toBeUndefined()
    expect(await cache.getOrSet('computed', () => 'from the factory')).toBe('from the factory')
    expect(errors.length).toBeGreaterThan(0)
    expect(cache.stats().l2?.errors).toBeGreaterThan(0)
  })

  it("policy 'throw' (default): set rejects with a coded L2 error and this node's L1 forgets the key", async () => {
    const cache = makeCache({ redis: client(), namespace: 'o2', l2: { timeout: 200 } })
    await cache.set('k', 'before')
    await server.kill()
    const error = await cache.set('k', 'during').catch((e: unknown) => e)
    expect(isL2Failure(error)).toBe(true)
    expect((error as L2CommandError).code).toMatch(/^E_L2_/)
    expect(internals(cache).l1?.get('k')).toBeUndefined()
    await expect(cache.delete('k')).rejects.toSatisfy(isL2Failure)
  })

  it("policy 'local': set resolves, keeps the value in L1 for at most localTtl, and says so", async () => {
    const cache = makeCache({
      redis: client(),
      namespace: 'o3',
      l2: { timeout: 200, onWriteError: 'local', localTtl: 1000 },
    })
    await server.kill()
    const degraded = nextEvent(cache, 'write:degraded')
    await cache.set('k', 'local only', { ttl: '1h' })
    expect((await degraded).key).toBe('k')
    expect(await cache.get('k')).toBe('local only')
    expect(internals(cache).l1?.remainingTtl('k')).toBeLessThanOrEqual(1000)
  })

  it('getOrSet keeps a factory value whose write failed in L1 for at most localTtl', async () => {
    const cache = makeCache({ redis: client(), namespace: 'o4', l2: { timeout: 200, localTtl: 500 } })
    await server.kill()
    let calls = 0
    expect(await cache.getOrSet('k', () => ++calls)).toBe(1)
    expect(await cache.getOrSet('k', () => ++calls)).toBe(1)
    expect(calls).toBe(1)
    expect(internals(cache).l1?.remainingTtl('k')).toBeLessThanOrEqual(500)
  })

  it('resumes by itself when Redis comes back, without a new cache', async () => {
    const redis = client()
    const cache = makeCache({ redis, namespace: 'o5', l2: { timeout: 200, breaker: { threshold: 2, cooldown: 100 } } })
    await server.kill()
    await cache.get('a')
    await cache.get('b')
    await cache.get('c')
    expect(cache.stats().l2?.circuit).toBe('open')
    const ready = new Promise((resolve) => redis.once('ready', resolve))
    await server.restart()
    await ready
    // The open circuit refuses calls (fast, never a hang) until its 100 ms cooldown is over; then the trial
    // call goes through and closes it. vi.waitFor retries within a bound; the cooldown is a duration by design.
    await vi.waitFor(() => cache.set('k', 'after restart'), { timeout: 5000, interval: 25 })
    expect(cache.stats().l2?.circuit).toBe('closed')
    const other = makeCache({ redis: server.url, namespace: 'o5', l1: false })
    expect(await other.get('k')).toBe('after restart')
    expect((await cache.health()).ok).toBe(true)
  })

  it('with the bus down, L1 entries older than bus.maxStaleness are not served (this node may have missed an invalidation)', async () => {
    const cache = makeCache({ redis: client(), namespace: 'o8', l2: { timeout: 200 }, bus: { maxStaleness: 0 } })
    await cache.ready()
    await cache.set('cached', 'maybe stale')
    expect(await cache.get('cached')).toBe('maybe stale')
    const down = nextEvent(cache, 'bus:state')
    await server.kill()
    expect((await down).state).toBe('down')
    expect(await cache.get('cached')).toBeUndefined() // Redis is gone too: a miss, not a possibly stale value
  })
})

describe('Redis frozen (SIGSTOP)', () => {
  it('commands time out after l2.timeout: reads miss, nothing hangs', async () => {
    const cache = makeCache({ redis: client(), namespace: 'o6', l2: { timeout: 150 } })
    await cache.set('warm', 1) // connected
    const other = makeCache({ redis: client(), namespace: 'o6', l2: { timeout: 150 } })
    await other.get('connect') // connected too
    server.freeze()
    try {
      const error = nextEvent(other, 'l2:error')
      expect(await other.get('warm')).toBeUndefined()
      expect((await error).error).toBeInstanceOf(L2TimeoutError)
      await expect(other.set('x', 1)).rejects.toBeInstanceOf(L2TimeoutError)
      expect((await other.health()).ok).toBe(false)
    } finally {
      server.thaw()
    }
  })

  it('the circuit opens after `threshold` failures and later calls fail fast without being sent', async () => {
    const cache = makeCache({
      redis: client(),
      namespace: 'o7',
      l2: { timeout: 100, breaker: { threshold: 2, cooldown: '1m' } },
    })
    await cache.get('connect')
    server.freeze()
    try {
      const opened = nextEvent(cache, 'l2:circuit')
      await cache.get('a')
      await cache.get('b')
      expect((await opened).state).toBe('open')
      await expect(cache.set('k', 1)).rejects.toBeInstanceOf(L2UnavailableError)
      expect(cache.stats().l2?.circuit).toBe('open')
    } finally {
      server.thaw()
    }
  })
})
