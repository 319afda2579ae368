/**
 * `l2.replicas`: L2 hits are read from a replica, and an L1 refill never installs what a lagging replica still
 * holds. The lag is forced: the replica replicates from the primary THROUGH a TCP proxy the test holds (the primary
 * acknowledges and announces writes the replica has not seen) and releases (`WAIT` then confirms it caught up).
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { internals, makeNode, nextEvent } from '../support/make_cache.js'
import { RedisServer } from '../support/redis_server.js'
import { useSentinel } from '../support/redis_sentinel.js'
import { TcpProxy } from '../support/tcp_proxy.js'

/** GET and MGET calls a server has answered so far (INFO commandstats). */
async function reads(client: Redis): Promise<number> {
  const stats = await client.info('commandstats')
  let calls = 0
  for (const match of stats.matchAll(/^cmdstat_(?:get|mget):calls=(\d+)/gm)) calls += Number(match[1])
  return calls
}

/** How long after an invalidation (and after its bus came up) a test node reads from the primary. */
const LAG = 200

/** Lets the bound pass: the node's reads of what nothing invalidated since go to the replica again. */
function pastLag(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, LAG + 20))
}

/** Resolves once `b` heard (over the bus) that `a` changed `key`. */
async function setHeard(a: Cache, b: Cache, key: string, value: string): Promise<void> {
  const heard = nextEvent(b, 'bus:message', (m) => m.items.includes(key))
  await a.set(key, value)
  await heard
}

describe('reads from a replica (a plain primary and a replica behind a proxy the test holds)', () => {
  let primary: RedisServer
  let proxy: TcpProxy
  let replica: RedisServer
  let primaryRaw: Redis
  let replicaRaw: Redis

  beforeAll(async () => {
    primary = await RedisServer.start()
    proxy = await TcpProxy.start(primary.port)
    replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(proxy.port)] })
    primaryRaw = new Redis(primary.url)
    replicaRaw = new Redis(replica.url)
    // The replica is in sync once the primary counts it: WAIT for it (bounded), no polling.
    await primaryRaw.set('sync', '1')
    expect(await primaryRaw.wait(1, 10_000)).toBe(1)
  })
  afterAll(async () => {
    primaryRaw.disconnect()
    replicaRaw.disconnect()
    await replica.close()
    await proxy.close()
    await primary.close()
  })

  /**
   * Resolves once the replica applied every write the primary acknowledged so far: WAIT counts the writes of its
   * own connection, so this connection writes too (replication is in order).
   */
  async function replicated(): Promise<void> {
    await primaryRaw.incr('sync')
    expect(await primaryRaw.wait(1, 10_000)).toBe(1)
  }

  /** Writer A (primary only) and reader B (hits from the replica), both on the bus. */
  async function nodes(replicaLag: number = LAG): Promise<{ a: Cache; b: Cache }> {
    const a = await makeNode(primary.url)
    const b = await makeNode(primary.url, { l2: { timeout: 1000, replicas: replica.url, replicaLag } })
    await pastLag() // the bus came up (it may have missed writes before): reads stay on the primary for the bound
    return { a, b }
  }

  /** Holds replication, writes `value` with A (B hears it), runs `during`, then lets the replica catch up. */
  async function lagging(a: Cache, b: Cache, key: string, value: string, during: () => Promise<void>): Promise<void> {
    proxy.hold()
    try {
      await setHeard(a, b, key, value)
      await during()
    } finally {
      proxy.release()
      await replicated()
    }
  }

  it('hits come from the replica while nothing was invalidated; the primary is not read', async () => {
    const a = await makeNode(primary.url)
    await a.set('k', 'v1')
    await replicated()
    const b = await makeNode(primary.url, { l2: { timeout: 1000, replicas: replica.url, replicaLag: LAG } })
    // Just after its bus came up (a write it missed may not have reached the replica), B reads the primary.
    const startup = await reads(primaryRaw)
    expect(await b.get('k')).toBe('v1')
    expect(await reads(primaryRaw)).toBe(startup + 1)
    internals(b).l1?.delete('k')
    await pastLag()
    const [onReplica, onPrimary] = [await reads(replicaRaw), await reads(primaryRaw)]
    expect(await b.get('k')).toBe('v1')
    expect(await b.getMany(['k', 'other'])).toEqual(['v1', undefined]) // 'k' from L1, 'other' from the replica
    expect(await reads(primaryRaw)).toBe(onPrimary) // the primary was not read
    expect(await reads(replicaRaw)).toBe(onReplica + 2)
    await a.set('k2', 'v2')
    await replicated()
    internals(b).l1?.delete('k') // not an invalidation: 'k' is read from the replica again
    expect(await b.getOrSet('k', () => 'factory')).toBe('v1') // a fresh hit: no lease needed, read on the replica
    expect(await reads(replicaRaw)).toBe(onReplica + 3)
    expect(await b.getOrSet('k3', () => 'filled')).toBe('filled') // a miss: the lease is taken on the primary
  })

  it('after an invalidation, B refills from the primary: the lagging replica’s old value is never installed', async () => {
    const { a, b } = await nodes()
    await a.set('k', 'old')
    await replicated()
    expect(await b.get('k')).toBe('old') // in B's L1, read from the replica
    const oldBytes = await replicaRaw.getBuffer('tc:app::k')
    await lagging(a, b, 'k', 'new', async () => {
      expect(await replicaRaw.getBuffer('tc:app::k')).toEqual(oldBytes) // the replica still holds the old value…
      expect(await b.get('k')).toBe('new') // …B's refill went to the primary
      expect(internals(b).l1?.get('k')?.value).toBe('new')
      expect(await b.getOrSet('k', () => 'factory')).toBe('new')
      expect(await b.getMany(['k'])).toEqual(['new'])
      // A key nothing invalidated still reads from the (lagging) replica.
      const before = await reads(replicaRaw)
      expect(await b.get('untouched')).toBeUndefined()
      expect(await reads(replicaRaw)).toBe(before + 1)
    })
  })

  it('the same after a tag invalidation of the namespace and after a delete', async () => {
    const { a, b } = await nodes()
    await a.set('t', 'old', { tags: ['x'] })
    await a.set('d', 'old')
    await replicated()
    expect(await b.get('t')).toBe('old')
    expect(await b.get('d')).toBe('old')
    await lagging(a, b, 'd', 'new', async () => {
      const heard = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
      await a.invalidateTags(['x'])
      await heard
      expect(await b.get('t')).toBeUndefined() // the replica still has 't' with its old tag time: not trusted
      const deleted = nextEvent(b, 'bus:message', (m) => m.items.includes('d'))
      await a.delete('d')
      await deleted
      expect(await replicaRaw.exists('tc:app::d')).toBe(1)
      expect(await b.get('d')).toBeUndefined()
    })
  })

  it('the bound is what keeps it coherent: with a replicaLag shorter than the lag, B installs the stale value', async () => {
    // The documented limit (README, "Reads from replicas"): a replica further behind than `replicaLag`.
    const { a, b } = await nodes(1) // after the startup bound of 1 ms
    await a.set('k', 'old')
    await replicated()
    expect(await b.get('k')).toBe('old')
    await lagging(a, b, 'k', 'new', async () => {
      const past = Date.now() + 5
      while (Date.now() < past) await new Promise((resolve) => setImmediate(resolve)) // let the 1 ms bound pass
      expect(await b.get('k')).toBe('old')
      expect(internals(b).l1?.get('k')?.value).toBe('old')
    })
  })
})

describe('reads from a replica through Sentinel (role: slave)', () => {
  const sentinel = useSentinel()

  it('hits come from the replica Sentinel names; an invalidation sends the refill to the primary', async () => {
    const setup = sentinel.setup
    const a = await makeNode('', { redis: setup.options }) // `redis` replaces the URL
    const b = await makeNode('', {
      redis: setup.options,
      l2: { timeout: 1000, replicas: { ...setup.options, role: 'slave' }, replicaLag: LAG },
    })
    await pastLag()
    const primary = await setup.primary()
    const replicaServer = setup.servers.find((server) => server !== primary) as RedisServer
    const replicaRaw = new Redis(replicaServer.url)
    const primaryRaw = new Redis(primary.url)
    try {
      await a.set('k', 'v1')
      await primaryRaw.incr('sync') // WAIT counts this connection's writes; replication is in order
      expect(await primaryRaw.wait(1, 5000)).toBe(1)
      await pastLag() // B heard the write: its reads of 'k' stay on the primary for the bound
      const before = await reads(replicaRaw)
      expect(await b.get('k')).toBe('v1')
      expect(await reads(replicaRaw)).toBe(before + 1)
      await setHeard(a, b, 'k', 'v2')
      const onPrimary = await reads(primaryRaw) // (the write's script counts GETs of its own)
      expect(await b.get('k')).toBe('v2')
      expect(await reads(primaryRaw)).toBe(onPrimary + 1) // the refill after the invalidation
    } finally {
      replicaRaw.disconnect()
      primaryRaw.disconnect()
    }
  })
})
