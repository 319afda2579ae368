/**
 * Contract point "a fill never overwrites a newer write" (ARCHITECTURE.md, "Leases"): a getOrSet whose factory
 * started before a delete or set of its key, on this node or another, is not written to Redis after it, however
 * the replies and bus messages interleave. Each interleaving is forced, 200 rounds each:
 *
 * - same node: the delete (or set) is sent and applied, but its reply is held, so this node's fence has not moved
 *   when the factory returns and the fill is sent;
 * - across nodes: B's delete (or set) has resolved, but A's copy of the bus message is held, so A's fence has not
 *   moved when A's factory returns and A's fill is sent.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { holdBusMessages, holdNextScriptReply } from '../support/chaos.js'
import { deferred } from '../support/deferred.js'
import { internals, makeCache, makeNode, nextEvent, synced } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const ROUNDS = 200
const redis = useRedis()
const clients: Redis[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect()
})

function ownClient(): Redis {
  const client = new Redis(redis.url)
  clients.push(client)
  return client
}

describe('a getOrSet fill started before a write of its key is never written after it', () => {
  it.each(['delete', 'set'] as const)(
    `same node: a %s in flight when the factory returns wins (${ROUNDS} rounds)`,
    async (write) => {
      const client = ownClient()
      const node = await makeNode(redis.url, { redis: client })
      const redisOnly = makeCache({ redis: redis.url, namespace: 'app', l1: false, bus: false })
      const hold = holdNextScriptReply(client)
      for (let round = 0; round < ROUNDS; round++) {
        const key = `k${round}`
        const factory = deferred<string>()
        const started = deferred<void>()
        const fill = node.getOrSet(key, () => (started.resolve(), factory.promise))
        await started.promise // the read (and its lease) is done, the factory runs
        hold.arm()
        const newer = write === 'delete' ? node.delete(key) : node.set(key, 'newer')
        await hold.held // applied in Redis; its reply (and so this node's fence move) is held
        factory.resolve('computed before the write')
        expect(await fill).toBe('computed before the write') // the caller gets it…
        hold.release()
        await newer
        // …but it is cached nowhere: Redis holds what the write left, and so does this node's L1.
        const expected = write === 'delete' ? undefined : 'newer'
        expect(await redisOnly.get(key), `round ${round}: Redis`).toBe(expected)
        expect(internals(node).l1?.get(key)?.value, `round ${round}: L1`).toBe(expected)
        expect(await node.get(key)).toBe(expected)
      }
    },
  )

  it.each(['delete', 'set'] as const)(
    `across nodes: B's acknowledged %s wins over A's fill, whatever A has heard (${ROUNDS} rounds)`,
    async (write) => {
      const clientA = ownClient()
      const bus = holdBusMessages(clientA)
      const a = await makeNode(redis.url, { redis: clientA })
      const b = await makeNode(redis.url)
      for (let round = 0; round < ROUNDS; round++) {
        const key = `x${round}`
        const factory = deferred<string>()
        const started = deferred<void>()
        const fill = a.getOrSet(key, () => (started.resolve(), factory.promise))
        await started.promise
        bus.hold() // A will hear of B's write only after its fill went out
        if (write === 'delete') await b.delete(key)
        else await b.set(key, 'newer')
        factory.resolve('computed before the write')
        expect(await fill).toBe('computed before the write')
        bus.release()
        await synced(b, a)
        const expected = write === 'delete' ? undefined : 'newer'
        expect(await b.get(key), `round ${round}: B`).toBe(expected)
        expect(await a.get(key), `round ${round}: A`).toBe(expected)
        if (write === 'delete') expect(await redis.raw.exists(`tc:app::${key}`)).toBe(0)
      }
    },
  )

  it.each(['this node', 'another node'] as const)(
    'a getOrSet that starts after a delete on %s resolved does not join a fill that started before it',
    async (where) => {
      const a = await makeNode(redis.url)
      const b = await makeNode(redis.url)
      const old = deferred<string>()
      const started = deferred<void>()
      const first = a.getOrSet('j', () => (started.resolve(), old.promise))
      await started.promise
      if (where === 'this node') await a.delete('j')
      else {
        const heard = nextEvent(a, 'bus:message', (m) => m.items.includes('j'))
        await b.delete('j')
        await heard // past the bus delay: A knows
      }
      const second = a.getOrSet('j', () => 'computed after the delete')
      old.resolve('computed before the delete')
      expect(await first).toBe('computed before the delete') // its own caller still gets it…
      expect(await second).toBe('computed after the delete') // …but nobody who came after the delete does
      expect(await a.get('j')).toBe('computed after the delete')
    },
  )

  it('a fill with no write in between is written, and leaves no lease behind', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url)
    expect(await a.getOrSet('plain', () => 'v')).toBe('v')
    expect(await b.get('plain')).toBe('v')
    expect(await redis.raw.keys('tc!lease:*')).toEqual([])
  })

  it('a clear while the factory runs (on another node) wins too', async () => {
    const clientA = ownClient()
    const bus = holdBusMessages(clientA)
    const a = await makeNode(redis.url, { redis: clientA })
    const b = await makeNode(redis.url)
    const factory = deferred<string>()
    const started = deferred<void>()
    const fill = a.getOrSet('c', () => (started.resolve(), factory.promise))
    await started.promise
    bus.hold()
    await b.clear()
    factory.resolve('computed before the clear')
    expect(await fill).toBe('computed before the clear')
    bus.release()
    await synced(b, a)
    expect(await redis.raw.exists('tc:app::c')).toBe(0)
    expect(await a.get('c')).toBeUndefined()
  })
})
