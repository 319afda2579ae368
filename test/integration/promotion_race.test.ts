import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { RedisServer } from '../support/redis_server.js'
import { nextEvent, startNode, synced } from '../support/nodes.js'

/** Holds every GET reply of `cache`'s Redis client until `release()` (a chaos hook on the real client). */
function delayReads(cache: Cache): { release: () => void; sent: Promise<void> } {
  const client = cache.scope.ctx.l2?.client as Redis
  const getBuffer = client.getBuffer.bind(client)
  let release!: () => void
  let sent!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const sentPromise = new Promise<void>((resolve) => (sent = resolve))
  client.getBuffer = (async (key: string) => {
    const reply = getBuffer(key)
    sent()
    const value = await reply
    await gate
    return value
  }) as typeof client.getBuffer
  return { release, sent: sentPromise }
}

describe('promotion race: a read that started before an invalidation does not install its result', () => {
  let server: RedisServer
  let nodes: Cache[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()))
    nodes = []
    await server.cli('flushall')
  })
  afterAll(async () => server?.close())

  it('a delayed L2 reply carrying the old value is not promoted after the invalidation arrived', async () => {
    const a = await startNode(server.url)
    const b = await startNode(server.url)
    nodes.push(a, b)
    await a.set('k', 'old')
    await synced(a, b)
    const { release, sent } = delayReads(b)
    const read = b.get('k') // L1 miss: GET goes out, its reply ('old') is held
    await sent
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.set('k', 'new')
    await heard // the invalidation reached B while its read was in flight
    release()
    expect(await read).toBe('old') // the read overlapped the write: returning either is linearizable
    expect(b.scope.l1?.get('k')).toBeUndefined() // …but it was not installed
    expect(await b.get('k')).toBe('new')
    expect(await b.get('k')).toBe('new')
  })

  it('a factory result computed before an invalidation is returned but not cached (and does not overwrite Redis)', async () => {
    const a = await startNode(server.url)
    const b = await startNode(server.url)
    nodes.push(a, b)
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
    expect(b.scope.l1?.get('k')).toBeUndefined()
    expect(await b.get('k')).toBe('new')
    expect(await a.get('k')).toBe('new')
  })
})
