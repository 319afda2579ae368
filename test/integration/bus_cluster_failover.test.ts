/**
 * Cluster: the node the bus subscriber is connected to dies for good (kill -9 of a master, on a real 3-master
 * cluster with one replica each). The subscriber used to retry that node forever, leaving the cache deaf and its
 * L1 gated; now it moves to another node (classic PUBLISH reaches every node of a cluster) and comes back.
 */
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { busOf, busUp, nextEvent, readyCache, synced } from '../support/make_cache.js'
import { useCluster } from '../support/redis_cluster.js'
import type { RedisServer } from '../support/redis_server.js'

const fixture = useCluster(3, 1)

/** The server holding the bus subscriber connection of `cache`. */
async function subscriberNode(cache: Cache): Promise<RedisServer> {
  const name = `tiercache-bus-${busOf(cache).origin.toString('hex')}`
  const running = fixture.cluster.servers.filter((s) => s.running)
  const lists = await Promise.all(running.map((s) => s.cli('client', 'list')))
  const index = lists.findIndex((list) => list.includes(`name=${name} `))
  if (index < 0) throw new Error(`no node holds ${name}`)
  return running[index] as RedisServer
}

/** Polls (with a deadline) until three masters run again: the dead master's replica took over. */
async function failedOver(timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while ((await fixture.cluster.masters()).length < 3) {
    if (Date.now() > deadline) throw new Error(`no failover within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await fixture.cluster.waitUntilOk()
}

describe('bus on a Cluster whose subscriber node dies', () => {
  it('moves to another node, comes back up and hears invalidations again', async () => {
    const node = (): Promise<Cache> => {
      return readyCache({ redis: fixture.client(), namespace: 'shop' })
    }
    const a = await node()
    const b = await node()
    await Promise.all([busUp(a, 10_000), busUp(b, 10_000)]) // ready() waits for the bus for l2.timeout at most
    const victim = await subscriberNode(b)
    expect(await victim.cli('role')).toMatch(/^master/)

    const down = nextEvent(b, 'bus:state', (p) => p.state === 'down', 5000)
    const up = nextEvent(b, 'bus:state', (p) => p.state === 'up', 10_000)
    const t0 = Date.now()
    await victim.kill()
    await down
    await up
    const busBack = Date.now() - t0
    expect(busOf(b).up).toBe(true)
    expect((await subscriberNode(b)).port).not.toBe(victim.port)

    // Keys on the dead master's slots fail until its replica takes over; then invalidations flow again.
    await failedOver()
    const failover = Date.now() - t0
    await busUp(a, 10_000)
    await synced(a, b)
    for (let i = 0; i < 12; i++) {
      const key = `item:${i}` // spread over the three shards
      await a.set(key, 'old')
      await synced(a, b)
      expect(await b.get(key)).toBe('old') // in b's L1
      const heard = nextEvent(b, 'bus:message', (m) => m.items.includes(key))
      await a.set(key, 'new')
      await heard
      expect(await b.get(key)).toBe('new')
    }
    console.log(`[cluster] subscriber's master killed: bus back after ${busBack} ms, failover after ${failover} ms`)
  }, 40_000)
})
