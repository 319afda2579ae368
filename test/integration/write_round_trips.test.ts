/**
 * Issue 5: a write and its announcement travel in one round trip (one Lua call), and the
 * announcement goes out only when the write reached Redis.
 */
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { RedisConnection } from '../../src/redis/connection.js'
import { RedisTier } from '../../src/tiers/redis_tier.js'
import { readyCache } from '../support/make_cache.js'
import { commandsDuring } from '../support/monitor.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis({ flush: false })

function tier(client: Redis): RedisTier {
  return new RedisTier(
    new RedisConnection(client, false, { timeout: 1000, breakerThreshold: 5, breakerCooldown: 1000 }),
    'tc',
  )
}

function listen(url: string, channel: string): Promise<{ messages: Buffer[]; sub: Redis }> {
  const sub = new Redis(url)
  const messages: Buffer[] = []
  sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => messages.push(message))
  return sub.subscribe(channel).then(() => ({ messages, sub }))
}

describe('RedisTier.write / del', () => {
  it('writes every key and publishes once, as one command', async () => {
    const client = new Redis(redis.server.url)
    const { messages, sub } = await listen(redis.server.url, 'bus')
    try {
      const t = tier(client)
      await client.ping() // connected: the handshake is not part of what is counted
      const published = new Promise<void>((resolve) => sub.once('messageBuffer', () => resolve()))
      const sent = await commandsDuring(redis.server.url, () =>
        t.write(
          [
            { key: 'a', bytes: Buffer.from('1'), px: 60_000 },
            { key: 'b', bytes: Buffer.from('2'), px: 0 },
          ],
          undefined,
          (keys) => ({ channel: 'bus', bytes: Buffer.from(keys.join(',')) }),
        ),
      )
      await published
      // The client sent the script call only (EVAL the first time, when Redis does not know the script yet):
      // SET and PUBLISH ran inside it.
      expect(sent.map((c) => c.name).every((name) => name === 'eval' || name === 'evalsha')).toBe(true)
      expect(messages.map(String)).toEqual(['a,b'])
      expect(await redis.raw.mget('a', 'b')).toEqual(['1', '2'])
      expect(await redis.raw.pttl('a')).toBeGreaterThan(59_000)
      expect(await redis.raw.pttl('b')).toBe(-1)
      // With the script cached, a write is exactly one command sent.
      const again = await commandsDuring(redis.server.url, () =>
        t.write([{ key: 'a', bytes: Buffer.from('3'), px: 0 }], undefined, () => ({
          channel: 'bus',
          bytes: Buffer.from('a'),
        })),
      )
      expect(again.map((c) => c.name)).toEqual(['evalsha'])
      await new Promise<void>((resolve) =>
        messages.length > 1 ? resolve() : sub.once('messageBuffer', () => resolve()),
      )
      messages.splice(1)

      expect(
        await t.del(['a', 'b', 'c'], (keys) => ({
          channel: 'bus',
          bytes: Buffer.from(`del:${keys.join(',')}`),
        })),
      ).toBe(2)
      await new Promise<void>((resolve) =>
        messages.length > 1 ? resolve() : sub.once('messageBuffer', () => resolve()),
      )
      expect(messages.map(String)).toEqual(['a,b', 'del:a,b,c'])
    } finally {
      client.disconnect()
      sub.disconnect()
    }
  })

  it('announces nothing when the write fails', async () => {
    const client = new Redis(redis.server.url)
    const { messages, sub } = await listen(redis.server.url, 'bus2')
    try {
      await redis.raw.lpush('list', 'x')
      await redis.raw.config('SET', 'maxmemory', '1') // every write is refused (OOM) from here
      const t = tier(client)
      await expect(
        t.write([{ key: 'k', bytes: Buffer.from('v'), px: 0 }], undefined, () => ({
          channel: 'bus2',
          bytes: Buffer.from('k'),
        })),
      ).rejects.toMatchObject({ code: 'E_L2_COMMAND' })
      await redis.raw.config('SET', 'maxmemory', '0')
      // Prove the channel works, so an empty list means "nothing was published", not "nothing arrived yet".
      const arrived = new Promise<void>((resolve) => sub.once('messageBuffer', () => resolve()))
      await redis.raw.publish('bus2', 'marker')
      await arrived
      expect(messages.map(String)).toEqual(['marker'])
    } finally {
      await redis.raw.config('SET', 'maxmemory', '0')
      client.disconnect()
      sub.disconnect()
    }
  })
})

describe('round trips of the facade, with the bus on (the default)', () => {
  it('set → 1 command, cold getOrSet → 2 (read + lease, then write+announce), delete → 1', async () => {
    const cache = await readyCache({ redis: redis.server.url, namespace: 'rt' })
    try {
      await cache.set('warm-the-script-cache', 1)
      await cache.delete('warm-the-script-cache')
      await cache.getOrSet('warm-the-script-cache', () => 1)
      const names = async (action: () => Promise<unknown>): Promise<string[]> =>
        (await commandsDuring(redis.server.url, action)).map((c) => c.name)
      expect(await names(() => cache.set('a', { v: 1 }))).toEqual(['evalsha'])
      // The read takes a lease in the same Lua call; the write is made only while the lease holds.
      expect(await names(() => cache.getOrSet('cold', () => 42))).toEqual(['evalsha', 'evalsha'])
      expect(await names(() => cache.delete('a'))).toEqual(['evalsha'])
      expect(
        await names(() =>
          cache.setMany([
            { key: 'x', value: 1 },
            { key: 'y', value: 2 },
          ]),
        ),
      ).toEqual(['evalsha'])
    } finally {
      await cache.close()
    }
  })
})
