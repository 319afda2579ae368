import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create_cache.js'
import { RedisCluster } from '../support/redis_cluster.js'
import { busOf, busUp, internals, nextEvent, synced } from '../support/make_cache.js'

/** GET/MGET calls answered by all masters so far. */
async function reads(cluster: RedisCluster): Promise<number> {
  let total = 0
  for (const server of cluster.servers) {
    const info = await server.cli('info', 'commandstats')
    for (const name of ['get', 'mget']) total += Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  }
  return total
}

describe('bus, tags and the facade on a real 3-master Redis Cluster', () => {
  let cluster: RedisCluster
  const clients: Cluster[] = []
  let a: Cache
  let b: Cache

  beforeAll(async () => {
    cluster = await RedisCluster.start()
    const ca = cluster.client()
    const cb = cluster.client()
    clients.push(ca, cb)
    a = createCache({ redis: ca, namespace: 'shop' })
    b = createCache({ redis: cb, namespace: 'shop' })
    await Promise.all([busUp(a, 10_000), busUp(b, 10_000)])
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    for (const client of clients) client.disconnect()
    await cluster?.close()
  })

  it('invalidates keys on every slot across nodes (set, setMany, delete, deleteMany, expire, incr)', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `item:${i}`) // spread over the three masters
    await a.setMany(keys.map((key, i) => ({ key, value: i })))
    await synced(a, b)
    expect(await b.getMany(keys)).toEqual(keys.map((_, i) => i))

    let heard = nextEvent(b, 'bus:message', (m) => m.items.includes('item:7'))
    await a.set('item:7', 'seven')
    await heard
    expect(await b.get('item:7')).toBe('seven')

    // On a Cluster each hash slot's keys are deleted and announced in their own round trip (in parallel):
    // wait until every deleted key has been heard, in however many messages.
    const pending = new Set(keys.slice(0, 10))
    const allHeard = new Promise<void>((resolve) => {
      const listener = (m: { items: readonly string[] }): void => {
        for (const item of m.items) pending.delete(item)
        if (pending.size === 0) {
          b.off('bus:message', listener)
          resolve()
        }
      }
      b.on('bus:message', listener)
    })
    await a.deleteMany(keys.slice(0, 10))
    await allHeard
    expect(await b.getMany(keys.slice(0, 10))).toEqual(Array(10).fill(undefined))

    heard = nextEvent(b, 'bus:message', (m) => m.items.includes('item:20'))
    expect(await a.delete('item:20')).toBe(true)
    await heard
    expect(await b.get('item:20')).toBeUndefined()

    heard = nextEvent(b, 'bus:message', (m) => m.items.includes('item:21'))
    expect(await a.expire('item:21', 60_000)).toBe(true)
    await heard
    expect(await b.get('item:21')).toBe(21)

    await a.incr('counter')
    await synced(a, b)
    expect(await b.get('counter')).toBe(1)
    heard = nextEvent(b, 'bus:message', (m) => m.items.includes('counter'))
    await a.decr('counter', 3)
    await heard
    expect(await b.get('counter')).toBe(-2)
    expect(await b.has('counter')).toBe(true)
  })

  it('getOrSet runs once per node and is invalidated by the other node', async () => {
    let calls = 0
    expect(await b.getOrSet('g', () => ++calls)).toBe(1)
    expect(await b.getOrSet('g', () => ++calls)).toBe(1)
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('g'))
    await a.set('g', 100)
    await heard
    expect(await b.getOrSet('g', () => ++calls)).toBe(100)
  })

  it('invalidates tags on every node, checking any number of tags in one extra round trip', async () => {
    const tags = Array.from({ length: 12 }, (_, i) => `t${i}`)
    await a.set('tagged:1', 'one', { tags })
    await a.set('tagged:2', 'two', { tags: ['t3'] })
    await a.invalidateTags(['unrelated'])
    const c = createCache({ redis: cluster.client(), namespace: 'shop', bus: false, l1: false })
    try {
      const before = await reads(cluster)
      expect(await c.get('tagged:1')).toBe('one')
      expect((await reads(cluster)) - before).toBe(2) // the value, then all 12 tags in one MGET (one slot)
    } finally {
      await c.close()
      internals(c).ctx.l2?.connection.client.disconnect()
    }
    await synced(a, b)
    expect(await b.getMany(['tagged:1', 'tagged:2'])).toEqual(['one', 'two'])
    const heard = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
    await a.invalidateTags(['t3'])
    await heard
    expect(await b.getMany(['tagged:1', 'tagged:2'])).toEqual([undefined, undefined])
  })

  it("clear empties the namespace on every master and every node's L1", async () => {
    await a.set('c1', 1)
    await a.set('c2', 2)
    await synced(a, b)
    expect(await b.getMany(['c1', 'c2'])).toEqual([1, 2])
    const heard = nextEvent(b, 'bus:message', (m) => m.kind === 'clear')
    await a.clear()
    await heard
    expect(internals(b).l1?.entries).toBe(0)
    expect(await b.getMany(['c1', 'c2'])).toEqual([undefined, undefined])
    expect((await b.health()).ok).toBe(true)
  })

  it('recovers when the subscriber connection to its master is killed: no stale read once it hears again', async () => {
    await a.set('r', 'old')
    await synced(a, b)
    expect(await b.get('r')).toBe('old')
    const name = `tiercache-bus-${busOf(b).origin.toString('hex')}`
    let killed = false
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    const up = nextEvent(b, 'bus:state', (s) => s.state === 'up', 10_000)
    for (const server of cluster.servers) {
      const line = (await server.cli('client', 'list')).split('\n').find((l) => l.includes(`name=${name} `))
      const id = line?.match(/id=(\d+)/)?.[1]
      if (id !== undefined) killed = (await server.cli('client', 'kill', 'id', id)) === '1'
    }
    expect(killed).toBe(true)
    await down
    await a.set('r', 'new')
    await up
    // B either missed the write (revalidation dropped 'r') or resubscribed before it (then it hears it within the
    // bus delay: on a Cluster a PUBLISH reaches other masters' subscribers over the cluster bus, a little later).
    await synced(a, b)
    expect(await b.get('r')).toBe('new')
  })
})
