/**
 * After a bus outage a node revalidates its L1 against Redis instead of dropping it (ARCHITECTURE.md, "Bus
 * outages"): exactly the entries that changed or went away while it was deaf are dropped, the check costs one Lua
 * call per 500 entries, and no read returns a value older than one acknowledged before it, at any point.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { HEADERS } from '../../src/tiers/redis_scripts.js'
import type { Cache } from '../../src/index.js'
import { killSubscriber } from '../support/chaos.js'
import { internals, makeCache, makeNode, nextEvent, synced } from '../support/make_cache.js'
import { commandsDuring } from '../support/monitor.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const clients: Redis[] = []
afterEach(() => {
  for (const client of clients.splice(0)) client.disconnect()
})

/** Ages L1 entries past a small maxStaleness: the bound is about time, so the test lets time pass. */
const age = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A node whose subscriber reconnects 300 ms after it is lost: long enough for writes it will miss. */
async function slowToReconnect(entries: number): Promise<Cache> {
  const client = new Redis(redis.url, { retryStrategy: () => 300 })
  clients.push(client)
  const node = makeCache({
    redis: client,
    namespace: 'app',
    l1: { maxEntries: entries * 2 },
    bus: { maxStaleness: 50 },
  })
  await node.ready()
  return node
}

async function fill(a: Cache, keys: string[], value: (key: string) => string): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000)
    await a.setMany(keys.slice(i, i + 1000).map((key) => ({ key, value: value(key) })))
}

describe('revalidation after a bus outage', () => {
  it('10,000 entries, 100 changed while deaf: exactly those are dropped, in 20 Lua calls', async () => {
    const a = await makeNode(redis.url)
    const b = await slowToReconnect(10_000)
    const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`)
    await fill(a, keys, () => 'v1')
    for (let i = 0; i < keys.length; i += 1000) await b.getMany(keys.slice(i, i + 1000))
    expect(internals(b).l1?.entries).toBe(10_000)
    await age(80) // past maxStaleness: while deaf, B must not serve these from L1

    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    await killSubscriber(redis.server, b)
    await down
    const changed = keys.filter((_, i) => i % 100 === 7) // 100 keys: 60 rewritten, 40 deleted
    await a.setMany(changed.slice(0, 60).map((key) => ({ key, value: 'v2' })))
    await a.deleteMany(changed.slice(60))

    let dropped = -1
    const sent = await commandsDuring(redis.url, async () => {
      dropped = (await nextEvent(b, 'bus:state', (s) => s.state === 'up')).dropped
    })
    expect(dropped).toBe(100)
    const l1 = internals(b).l1
    expect(l1?.entries).toBe(9_900)
    for (const key of changed) expect(l1?.get(key), key).toBeUndefined()
    expect(l1?.get('k0')?.value).toBe('v1')
    // One Lua call per 500 entries read their headers (16 bytes each), and nothing else was read.
    // MONITOR shows a script sent in full with its newlines escaped.
    const isHeaders = (c: { name: string; args: string[] }): boolean =>
      (c.name === 'evalsha' && c.args[0] === HEADERS.sha) ||
      (c.name === 'eval' && c.args[0]?.replaceAll('\\n', '\n') === HEADERS.lua)
    const checks = sent.filter(isHeaders)
    expect(checks).toHaveLength(20)
    expect(sent.filter((c) => ['get', 'mget', 'getrange'].includes(c.name))).toEqual([])
    // Reads after it: new values for what changed, L1 hits for the rest.
    expect(await b.get(changed[0] as string)).toBe('v2')
    expect(await b.get(changed[99] as string)).toBeUndefined()
    const hits = b.stats().l1?.hits ?? 0
    expect(await b.get('k1')).toBe('v1')
    expect(b.stats().l1?.hits).toBe(hits + 1)
  })

  it('no read returns a value older than one already acknowledged, before, during or after revalidation', async () => {
    const a = await makeNode(redis.url)
    const b = await slowToReconnect(1_000)
    const keys = Array.from({ length: 1_000 }, (_, i) => `r${i}`)
    await fill(a, keys, () => 'v1')
    await b.getMany(keys)
    await age(80)
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    await killSubscriber(redis.server, b)
    await down
    const changed = keys.filter((_, i) => i % 10 === 3)
    await a.setMany(changed.map((key) => ({ key, value: 'v2' }))) // acknowledged: from here on, v1 is stale
    const up = nextEvent(b, 'bus:state', (s) => s.state === 'up', 10_000)
    let settled = false
    void up.then(() => (settled = true))
    const stale: string[] = []
    let rounds = 0
    for (; rounds < 2_000 && !settled; rounds++) {
      const values = await Promise.all(changed.map((key) => b.get(key)))
      values.forEach((value, i) => value !== 'v2' && stale.push(`${changed[i]}=${String(value)}`))
    }
    await up
    const after = await Promise.all(changed.map((key) => b.get(key)))
    expect(stale).toEqual([])
    expect(after.every((value) => value === 'v2')).toBe(true)
    expect(rounds).toBeGreaterThan(0)
  })

  it('tagged entries whose tag was invalidated while deaf are dropped too', async () => {
    const a = await makeNode(redis.url)
    const b = await slowToReconnect(10)
    await a.set('p1', 'lamp', { tags: ['products'] })
    await a.set('u1', 'user', { tags: ['users'] })
    await synced(a, b)
    expect(await b.getMany(['p1', 'u1'])).toEqual(['lamp', 'user'])
    await age(80)
    const down = nextEvent(b, 'bus:state', (s) => s.state === 'down')
    await killSubscriber(redis.server, b)
    await down
    await a.invalidateTags(['products'])
    const { dropped } = await nextEvent(b, 'bus:state', (s) => s.state === 'up')
    expect(dropped).toBe(1)
    expect(internals(b).l1?.get('p1')).toBeUndefined()
    expect(internals(b).l1?.get('u1')?.value).toBe('user')
    expect(await b.get('p1')).toBeUndefined()
  })
})
