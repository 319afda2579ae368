/**
 * Contract point 4: a read or factory call that started before an invalidation of its key does
 * not install its (older) result afterwards: whether the invalidation came from another node over
 * the bus, or from this node. The interleaving is forced by holding Redis replies (or the factory)
 * until the invalidation has resolved.
 */
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { holdReplies, type Gate } from '../support/chaos.js'
import { internals, makeCache, makeNode, nextEvent, synced } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

/** Holds the replies of `cache`'s reads (on its real Redis client) until released. */
function holdReads(cache: Cache): Gate {
  return holdReplies(internals(cache).ctx.l2?.connection.client as Redis, ['getBuffer', 'mgetBuffer'])
}

describe('promotion race: a read that started before an invalidation does not install its result', () => {
  const env = useRedis()

  it('a delayed L2 reply carrying the old value is not promoted after the invalidation arrived', async () => {
    const a = await makeNode(env.server.url)
    const b = await makeNode(env.server.url)
    await a.set('k', 'old')
    await synced(a, b)
    const gate = holdReads(b)
    const read = b.get('k') // L1 miss: GET goes out, its reply ('old') is held
    await gate.held
    gate.restore()
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.set('k', 'new')
    await heard // the invalidation reached B while its read was in flight
    gate.release()
    expect(await read).toBe('old') // the read overlapped the write: returning either is linearizable
    expect(internals(b).l1?.get('k')).toBeUndefined() // …but it was not installed
    expect(await b.get('k')).toBe('new')
    expect(await b.get('k')).toBe('new')
  })

  it('a factory result computed before an invalidation is returned but not cached (and does not overwrite Redis)', async () => {
    const a = await makeNode(env.server.url)
    const b = await makeNode(env.server.url)
    let release!: () => void
    let started!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const running = new Promise<void>((resolve) => (started = resolve))
    const fill = b.getOrSet('k', async () => {
      started()
      await gate
      return 'from-old-db-row'
    })
    await running
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.set('k', 'new')
    await heard
    release()
    expect(await fill).toBe('from-old-db-row')
    expect(internals(b).l1?.get('k')).toBeUndefined()
    expect(await b.get('k')).toBe('new')
    expect(await a.get('k')).toBe('new')
  })
})

const redis = useRedis({ flush: false })
const clients: Redis[] = []
afterAll(() => {
  for (const client of clients) client.disconnect()
})

/** A node with a Redis client of its own, so that its reads can be held. */
function node(namespace: string): { cache: ReturnType<typeof makeCache>; client: Redis } {
  const client = new Redis(redis.server.url)
  clients.push(client)
  return { cache: makeCache({ redis: client, namespace }), client }
}

describe('promotion race, invalidated on the same node (delete, set, clear)', () => {
  it('a read in flight during a delete does not install the deleted value in L1', async () => {
    const { cache, client } = node('f1')
    await node('f1').cache.set('k', 'old')
    const gate = holdReplies(client, ['getBuffer', 'mgetBuffer'])
    const read = cache.get('k')
    await gate.held // Redis has answered 'old'; the reply is held
    gate.restore()
    await cache.delete('k')
    gate.release()
    expect(await read).toBe('old') // that caller asked before the delete
    expect(internals(cache).l1?.get('k')).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a read in flight during a set does not overwrite the newer value in L1', async () => {
    const { cache, client } = node('f2')
    await node('f2').cache.set('k', 'old')
    const gate = holdReplies(client, ['getBuffer', 'mgetBuffer'])
    const read = cache.get('k')
    await gate.held
    gate.restore()
    await cache.set('k', 'new')
    gate.release()
    await read
    expect(await cache.get('k')).toBe('new')
  })

  it('a factory running during a delete does not cache its result anywhere', async () => {
    const { cache } = node('f3')
    let started!: () => void
    const factoryStarted = new Promise<void>((resolve) => (started = resolve))
    let finish!: (value: string) => void
    const fill = cache.getOrSet('k', () => {
      started()
      return new Promise<string>((resolve) => (finish = resolve))
    })
    await factoryStarted
    await cache.delete('k') // e.g. the app updated the row and invalidated the key
    finish('computed from the old row')
    expect(await fill).toBe('computed from the old row')
    expect(internals(cache).l1?.get('k')).toBeUndefined()
    const other = makeCache({ redis: redis.server.url, namespace: 'f3', l1: false })
    expect(await other.get('k')).toBeUndefined()
  })

  it('clear() during a read in flight fences it too', async () => {
    const { cache, client } = node('f4')
    await node('f4').cache.set('k', 'old')
    const gate = holdReplies(client, ['getBuffer', 'mgetBuffer'])
    const read = cache.get('k')
    await gate.held
    gate.restore()
    await cache.clear()
    gate.release()
    await read
    expect(internals(cache).l1?.get('k')).toBeUndefined()
  })
})
