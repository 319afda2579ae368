import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create_cache.js'
import { RedisServer } from '../support/redis_server.js'
import { busOf, busUp, internals, makeNode, nextEvent, synced } from '../support/make_cache.js'
import { killSubscriber } from '../support/chaos.js'

/** Ages L1 entries past a small maxStaleness: the bound is about time, so the test lets time pass. */
const age = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('bus outage on the receiving side', () => {
  let server: RedisServer
  let nodes: Cache[] = []
  const clients: Redis[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()))
    nodes = []
    for (const c of clients.splice(0)) c.disconnect()
    await server.cli('flushall')
  })
  afterAll(async () => server?.close())

  it('CLIENT KILL of the subscriber: old L1 entries are not served while deaf; after resubscribing, what changed is dropped', async () => {
    const a = await makeNode(server.url)
    // B's own client reconnects its subscriber after 300 ms, long enough for A to write while B is deaf.
    const clientB = new Redis(server.url, { retryStrategy: () => 300 })
    clients.push(clientB)
    const b = createCache({ redis: clientB, namespace: 'app', bus: { maxStaleness: 50 } })
    nodes.push(a, b)
    await busUp(b)
    await a.setMany([
      { key: 'k', value: 'old' },
      { key: 'other', value: 'x' },
      { key: 'stay', value: 's' },
    ])
    await synced(a, b)
    expect(await b.getMany(['k', 'other', 'stay'])).toEqual(['old', 'x', 's'])
    await age(80)

    const heard: string[] = []
    b.on('bus:message', (m) => heard.push(...m.items))
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    await killSubscriber(server, b)
    await down
    await a.set('k', 'new') // published while B is not subscribed: B misses both
    await a.set('other', 'y')
    expect(busOf(b).up).toBe(false)
    const l1Hits = b.stats().l1?.hits ?? 0
    expect(await b.get('k')).toBe('new') // the old entry is past maxStaleness: read from Redis
    expect(b.stats().l1?.hits).toBe(l1Hits)

    const up = await nextEvent(b, 'bus:state', (s) => s.state === 'up')
    expect(heard).not.toContain('other') // B really missed the invalidation
    // Revalidated, not dropped wholesale: only the entry that changed in Redis went.
    expect(up.dropped).toBe(1)
    expect(internals(b).l1?.get('other')).toBeUndefined()
    expect(internals(b).l1?.get('stay')?.value).toBe('s')
    expect(internals(b).l1?.get('k')?.value).toBe('new')
    expect(await b.get('other')).toBe('y')
    expect(internals(b).l1?.get('other')?.value).toBe('y') // L1 hits resume
  })

  it('serves L1 entries younger than maxStaleness while deaf, none with maxStaleness 0', async () => {
    const clientB = new Redis(server.url, { retryStrategy: () => 300 })
    clients.push(clientB)
    const b = createCache({ redis: clientB, namespace: 'app', bus: { maxStaleness: '1h' } })
    const clientC = new Redis(server.url, { retryStrategy: () => 300 })
    clients.push(clientC)
    const c = createCache({ redis: clientC, namespace: 'other', bus: { maxStaleness: 0 } })
    nodes.push(b, c)
    await busUp(b)
    await busUp(c)
    await b.set('k', 1)
    await c.set('k', 1)
    await Promise.all([
      nextEvent(b, 'bus:state', (s) => s.state === 'down').then(() => undefined),
      killSubscriber(server, b),
    ])
    await Promise.all([
      nextEvent(c, 'bus:state', (s) => s.state === 'down').then(() => undefined),
      killSubscriber(server, c),
    ])
    const bHits = b.stats().l1?.hits ?? 0
    const cHits = c.stats().l1?.hits ?? 0
    expect(await b.get('k')).toBe(1)
    expect(await c.get('k')).toBe(1)
    expect(b.stats().l1?.hits).toBe(bHits + 1)
    expect(c.stats().l1?.hits).toBe(cHits)
  })

  it('Redis restart: B never returns the old value, and resumes by itself', async () => {
    const a = await makeNode(server.url)
    const b = await makeNode(server.url, { bus: { maxStaleness: 50 } })
    nodes.push(a, b)
    await a.set('k', 'old')
    await synced(a, b)
    expect(await b.get('k')).toBe('old')
    await age(80)
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    await server.restart() // empty on return
    await down
    const up = nextEvent(b, 'bus:state', (s) => s.state === 'up')
    // A writes as soon as Redis takes writes again, maybe before B has resubscribed.
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        await a.set('k', 'new')
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await nextEvent(a, 'l2:error', () => true, 1000).catch(() => undefined)
      }
    }
    const seen: unknown[] = []
    let upYet = false
    void up.then(() => (upYet = true))
    for (let i = 0; i < 200 && !upYet; i++) seen.push(await b.get('k'))
    await up
    seen.push(await b.get('k'), await b.get('k'))
    expect(seen).not.toContain('old')
    expect(seen.at(-1)).toBe('new')
  })

  it('frozen Redis (connection open, nothing answered): the heartbeat notices, gates L1, and recovers after the thaw', async () => {
    const b = await makeNode(server.url, { bus: { heartbeat: 100, maxStaleness: 0 } })
    nodes.push(b)
    await b.set('k', 1)
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    server.freeze()
    try {
      await down // no 'close' ever comes from a frozen server: only the heartbeat can tell
      expect(busOf(b).up).toBe(false)
    } finally {
      server.thaw()
    }
    await busUp(b, 15_000)
    expect(await b.get('k')).toBe(1)
  })
})
