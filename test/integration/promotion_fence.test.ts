/**
 * Contract point 4: a read or factory call that started before an invalidation of its key does
 * not install its (older) result afterwards. The interleaving is forced: the L2 reply (or the
 * factory) is held until the invalidation has resolved.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { holdReplies } from '../support/chaos.js'
import { autoClose, makeCache } from '../support/make_cache.js'
import { RedisServer } from '../support/redis_server.js'

let server: RedisServer
const clients: Redis[] = []
beforeAll(async () => (server = await RedisServer.start()))
afterAll(async () => {
  for (const client of clients) client.disconnect()
  await server.close()
})
autoClose()

function node(namespace: string): { cache: ReturnType<typeof makeCache>; client: Redis } {
  const client = new Redis(server.url)
  clients.push(client)
  return { cache: makeCache({ redis: client, namespace }), client }
}

describe('promotion race', () => {
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
    expect(cache.scope.l1?.get('k')).toBeUndefined()
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
    expect(cache.scope.l1?.get('k')).toBeUndefined()
    const other = makeCache({ redis: server.url, namespace: 'f3', l1: false })
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
    expect(cache.scope.l1?.get('k')).toBeUndefined()
  })
})
