/**
 * The first millisecond is like any other (ARCHITECTURE.md, "The contract"): a cache used right after
 * `createCache()`, without `ready()`, behaves like one that awaited it. Operations that reach Redis wait (bounded)
 * for the bus's first subscription, so nothing installed in L1 or filled under a lease is lost to it.
 */
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { makeCache, nextEvent } from '../support/make_cache.js'
import { RedisServer, useRedis } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'

const redis = useRedis()
const workers: Worker[] = []
const clients: Redis[] = []
afterEach(() => {
  for (const worker of workers.splice(0)) worker.kill()
  for (const client of clients.splice(0)) client.disconnect()
})

describe('a fresh cache used at once', () => {
  it('set, then Redis dies, then get: the value is served from the L1 of the node that wrote it', async () => {
    const server = await RedisServer.start()
    try {
      const cache = makeCache({ redis: server.url, namespace: 'fresh' })
      await cache.set('k', 'written first thing')
      await server.kill()
      expect(await cache.get('k')).toBe('written first thing')
    } finally {
      await server.close()
    }
  })

  it('a subscription that comes only after the first write does not throw that write out of L1', async () => {
    // The bus's subscriber is held back until the write has resolved (a slow connection at startup).
    const client = new Redis(redis.url)
    clients.push(client)
    let releaseSubscribe!: () => void
    const subscribeHeld = new Promise<void>((resolve) => (releaseSubscribe = resolve))
    const duplicate = client.duplicate.bind(client)
    client.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
      const sub = duplicate(...args)
      const psubscribe = sub.psubscribe.bind(sub)
      sub.psubscribe = (async (...patterns: string[]) => {
        await subscribeHeld
        return psubscribe(...patterns)
      }) as typeof sub.psubscribe
      return sub
    }) as typeof client.duplicate
    const cache = makeCache({ redis: client, namespace: 'late' })
    await cache.set('k', 'v') // waits for the subscription at most one command timeout, then goes on, gated
    const up = nextEvent(cache, 'bus:state', (s) => s.state === 'up')
    releaseSubscribe()
    expect((await up).dropped).toBe(0) // revalidated: Redis holds what L1 holds
    const hits = cache.stats().l1?.hits ?? 0
    expect(await cache.get('k')).toBe('v')
    expect(cache.stats().l1?.hits).toBe(hits + 1)
  })

  it('4 fresh processes × 250 concurrent lock: true calls run the factory once, 20 rounds in a row', async () => {
    const script = fileURLToPath(new URL('../fixtures/fresh_lock_worker.ts', import.meta.url))
    const group = Array.from({ length: 4 }, () => new Worker(script, [redis.url, '250']))
    workers.push(...group)
    await Promise.all(group.map((worker) => worker.next('ready')))
    for (let round = 0; round < 20; round++) {
      for (const worker of group) worker.send(`go ${round}`)
      const results = await Promise.all(
        group.map((worker) => worker.first((m) => m.done === true && m.round === round, `round ${round}`)),
      )
      expect(await redis.raw.get(`factory-calls:${round}`), `round ${round}`).toBe('1')
      expect(new Set(results.flatMap((r) => r.values as string[])).size).toBe(1)
    }
  })
})
