/**
 * Sharded pub/sub (`bus: { sharded: true }`) on a real Redis 7 Cluster of 3 masters with one replica each: writes
 * announce themselves with SPUBLISH on the shard channel of their own key's slot inside their Lua call, and every
 * cache keeps one SSUBSCRIBE connection per master. Proves: invalidations (keys in every shard, tags, clear) flow
 * between two caches; messages stay within their shard (the other shards' nodes see no pub/sub traffic on the
 * cluster bus, unlike classic PUBLISH); a shard's master killed with kill -9 moves that subscription to the new
 * owner and invalidations of that shard flow again.
 */
import calculateSlot from 'cluster-key-slot'
import { describe, expect, it } from 'vitest'
import { shardChannel } from '../../src/bus/shard_channels.js'
import { createCache, type Cache } from '../../src/index.js'
import { busOf, busUp, makeCache, nextEvent, readyCache } from '../support/make_cache.js'
import { useCluster } from '../support/redis_cluster.js'
import type { RedisServer } from '../support/redis_server.js'

const fixture = useCluster(3, 1)

function node(options: { classic?: boolean } = {}): Promise<Cache> {
  return readyCache({ redis: fixture.client(), namespace: 'shop', bus: { sharded: !options.classic } })
}

/** The master serving `slot` (by the `myself` line of each master's `CLUSTER NODES`); polls through a failover. */
async function ownerOf(slot: number, timeoutMs = 15_000): Promise<RedisServer> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    for (const server of await fixture.cluster.masters()) {
      const mine = (await server.cli('cluster', 'nodes')).split('\n').find((line) => line.includes('myself'))
      for (const range of mine?.split(' ').slice(8) ?? []) {
        const [from, to = from] = range.split('-').map(Number)
        if (slot >= (from as number) && slot <= (to as number)) return server
      }
    }
    if (Date.now() > deadline) throw new Error(`no master serves slot ${slot} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The three masters, once `ROLE` says so on three running servers (polls: right after a start or a failover it may not yet). */
async function threeMasters(timeoutMs = 15_000): Promise<RedisServer[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const masters = await fixture.cluster.masters()
    if (masters.length === 3) return masters
    if (Date.now() > deadline) throw new Error(`${masters.length} masters after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Keys of namespace `shop`, one per master (the first found in each). */
async function keyPerShard(): Promise<Map<RedisServer, string>> {
  const out = new Map<RedisServer, string>()
  for (let i = 0; out.size < 3; i++) {
    const key = `item:${i}`
    const owner = await ownerOf(calculateSlot(`tc:shop::${key}`))
    if (!out.has(owner)) out.set(owner, key)
  }
  return out
}

async function clusterStat(server: RedisServer, name: string): Promise<number> {
  const info = await server.cli('cluster', 'info')
  return Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0)
}

/**
 * `from` changes `key` twice; `to` hears both. Waits for the key's own message, not `synced`: a marker key of another
 * shard travels on another connection, and messages of two shards have no order between them.
 */
async function flows(from: Cache, to: Cache, key: string): Promise<void> {
  const first = nextEvent(to, 'bus:message', (m) => m.items.includes(key))
  await from.set(key, 'old')
  await first
  expect(await to.get(key)).toBe('old') // now in to's L1
  const heard = nextEvent(to, 'bus:message', (m) => m.items.includes(key))
  await from.set(key, 'new')
  await heard
  expect(await to.get(key)).toBe('new')
}

describe('sharded bus on a Redis 7 Cluster', () => {
  it('needs a Cluster and a boolean', () => {
    expect(() => createCache({ redis: 'redis://127.0.0.1:1', bus: { sharded: true } })).toThrow(
      /`bus.sharded: true` needs an ioredis Cluster as `redis`, got .*redis:\/\/127.0.0.1:1/,
    )
    expect(() => createCache({ redis: fixture.client(), bus: { sharded: 'yes' as never } })).toThrow(
      /Expected `bus.sharded` to be a boolean, got .*yes/,
    )
  })

  it('carries keys of every shard, tags and clears between two caches, within the shard only', async () => {
    const a = await node()
    const b = await node()
    await Promise.all([busUp(a, 10_000), busUp(b, 10_000)])
    const masters = await threeMasters()
    // Every master holds both caches' subscriptions to the channels of its slots, no other node does.
    for (const master of masters) {
      const key = (await keyPerShard()).get(master) as string
      const channel = shardChannel('tc', calculateSlot(`tc:shop::${key}`))
      expect(await master.cli('pubsub', 'shardnumsub', channel)).toBe(`${channel}\n2`)
      for (const other of masters.filter((m) => m !== master))
        expect(await other.cli('pubsub', 'shardnumsub', channel)).toBe(`${channel}\n0`)
    }

    const shards = await keyPerShard()
    for (const [owner, key] of shards) {
      const others = masters.filter((m) => m !== owner)
      const before = await Promise.all(
        others.flatMap((m) => [
          clusterStat(m, 'cluster_stats_messages_publishshard_received'),
          clusterStat(m, 'cluster_stats_messages_publish_received'),
        ]),
      )
      await flows(a, b, key)
      await flows(b, a, key)
      const after = await Promise.all(
        others.flatMap((m) => [
          clusterStat(m, 'cluster_stats_messages_publishshard_received'),
          clusterStat(m, 'cluster_stats_messages_publish_received'),
        ]),
      )
      expect(after).toEqual(before) // the other shards' masters saw none of it
    }

    // The same counters do move with classic pub/sub: its PUBLISH crosses the cluster bus to every node.
    const [owner, key] = [...shards][0] as [RedisServer, string]
    const other = masters.find((m) => m !== owner) as RedisServer
    const classic = await node({ classic: true })
    const before = await clusterStat(other, 'cluster_stats_messages_publish_received')
    await classic.set(key, 'classic')
    await expect.poll(() => clusterStat(other, 'cluster_stats_messages_publish_received')).toBeGreaterThan(before)

    const written = nextEvent(b, 'bus:message', (m) => m.items.includes('tagged'))
    await a.set('tagged', 1, { tags: ['t'] })
    await written
    expect(await b.get('tagged')).toBe(1)
    const tagged = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
    await a.invalidateTags(['t'])
    await tagged
    expect(await b.get('tagged')).toBeUndefined()

    const writtenX = nextEvent(b, 'bus:message', (m) => m.items.includes('x'))
    await a.set('x', 1)
    await writtenX
    expect(await b.get('x')).toBe(1)
    const cleared = nextEvent(b, 'bus:message', (m) => m.kind === 'clear')
    await a.clear()
    await cleared
    expect(await b.get('x')).toBeUndefined()
  }, 30_000)

  it("moves a shard's subscription to the new owner when its master is killed", async () => {
    const a = await node()
    const b = await node()
    await Promise.all([busUp(a, 10_000), busUp(b, 10_000)])
    const [victim, key] = [...(await keyPerShard())][1] as [RedisServer, string]
    await flows(a, b, key)

    const down = nextEvent(b, 'bus:state', (p) => p.state === 'down', 5000)
    const up = nextEvent(b, 'bus:state', (p) => p.state === 'up', 20_000)
    const t0 = Date.now()
    await victim.kill()
    await down
    await up // only once every shard, the failed-over one included, is subscribed again
    const busBack = Date.now() - t0
    expect(busOf(b).up).toBe(true)
    const owner = await ownerOf(calculateSlot(`tc:shop::${key}`))
    expect(owner.port).not.toBe(victim.port)
    const channel = shardChannel('tc', calculateSlot(`tc:shop::${key}`))
    await busUp(a, 10_000)
    expect(await owner.cli('pubsub', 'shardnumsub', channel)).toBe(`${channel}\n2`)
    await flows(a, b, key)
    for (const other of (await keyPerShard()).values()) await flows(b, a, other)
    console.log(`[sharded] shard master killed: bus back (every shard subscribed) after ${busBack} ms`)
  }, 40_000)

  it('is up only once every master confirmed its slots (one master held by CLIENT PAUSE)', async () => {
    const held = (await threeMasters())[2] as RedisServer
    const pauseMs = 1500
    await held.cli('client', 'pause', String(pauseMs), 'all')
    const paused = Date.now()
    const cache = makeCache({ redis: fixture.client(), namespace: 'shop', bus: { sharded: true } })
    await nextEvent(cache, 'bus:state', (p) => p.state === 'up', 10_000)
    // The two other masters answer at once; the bus must not count as up before the held one confirmed too.
    expect(Date.now() - paused).toBeGreaterThanOrEqual(pauseMs - 50)
    expect(busOf(cache).up).toBe(true)
  }, 20_000)
})
