/**
 * The lock waiters' subscriber (src/locks/lock_waiters.ts): one per cache, woken by lock releases. A subscriber whose
 * connection ends for good (here: a client whose retryStrategy gives up, as ioredis's Sentinel failover detector can
 * also make it) is replaced at once while anyone waits, so waiters are woken by the next release instead of sleeping
 * until their lockTimeout.
 */
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { LockWaiters } from '../../src/locks/lock_waiters.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()

/** Resolves once `channel` has `count` subscribers on the server. */
async function subscribers(channel: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [, n] = (await redis.raw.pubsub('NUMSUB', channel)) as [string, number]
    if (n === count) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${channel}: never ${count} subscribers`)
}

describe('LockWaiters', () => {
  it('replaces a subscriber whose connection ended for good, and the waiter is woken by the next release', async () => {
    const client = new Redis(redis.url, { retryStrategy: () => null }) // its duplicates never reconnect either
    const errors: unknown[] = []
    const waiters = new LockWaiters(client, 'test!lock', (error) => errors.push(error))
    try {
      const waiter = waiters.wait('lease:k', 10_000)
      await waiters.ready()
      await subscribers('test!lock', 1)
      await redis.raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub') // the subscriber ends: its retryStrategy gives up
      await subscribers('test!lock', 1) // a new one, made at once because a waiter is waiting
      await redis.raw.publish('test!lock', 'lease:k')
      expect(await waiter.outcome).toBe('woken')
    } finally {
      await waiters.close()
      client.disconnect()
    }
  })
})
