import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { channelOf, encodeMessage, newOrigin } from '../../src/bus/message.js'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create_cache.js'
import { BusError } from '../../src/errors.js'
import { useRedis } from '../support/redis_server.js'
import { busOf, internals, makeNode, nextEvent, synced } from '../support/make_cache.js'

describe('bus: pub/sub invalidation between nodes', () => {
  const env = useRedis()

  async function pair(options = {}): Promise<[Cache, Cache]> {
    const a = await makeNode(env.server.url, options)
    const b = await makeNode(env.server.url, options)
    return [a, b]
  }

  it("is on by default with Redis, and set on A drops the key from B's L1", async () => {
    const [a, b] = await pair()
    await a.set('k', 1)
    await synced(a, b)
    expect(await b.get('k')).toBe(1) // B now holds 1 in L1
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.set('k', 2)
    await heard
    expect(internals(b).l1?.get('k')).toBeUndefined()
    expect(await b.get('k')).toBe(2)
  })

  it('propagates delete, deleteMany, expire and clear', async () => {
    const [a, b] = await pair()
    await a.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2 },
      { key: 'z', value: 3 },
      { key: 'w', value: 4 },
    ])
    await synced(a, b)
    expect(await b.getMany(['x', 'y', 'z', 'w'])).toEqual([1, 2, 3, 4])

    let heard = nextEvent(b, 'bus:message', (m) => m.items.includes('x'))
    await a.delete('x')
    await heard
    expect(await b.get('x')).toBeUndefined()

    heard = nextEvent(b, 'bus:message', (m) => m.items.includes('y') && m.items.includes('z'))
    await a.deleteMany(['y', 'z'])
    await heard
    expect(await b.getMany(['y', 'z'])).toEqual([undefined, undefined])

    heard = nextEvent(b, 'bus:message', (m) => m.items.includes('w'))
    await a.expire('w', 60_000)
    await heard
    expect(internals(b).l1?.get('w')).toBeUndefined()
    expect(await b.get('w')).toBe(4)

    await a.set('v', 5)
    await synced(a, b)
    expect(await b.get('v')).toBe(5)
    heard = nextEvent(b, 'bus:message', (m) => m.kind === 'clear')
    await a.clear()
    await heard
    expect(internals(b).l1?.entries).toBe(0)
    expect(await b.get('v')).toBeUndefined()
  })

  it('propagates incr', async () => {
    const [a, b] = await pair()
    await a.incr('n')
    await synced(a, b)
    expect(await b.get('n')).toBe(1)
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('n'))
    await a.incr('n', 5)
    await heard
    expect(await b.get('n')).toBe(6)
  })

  it("scopes messages to the namespace: a child namespace is not touched by its parent's writes", async () => {
    const [a, b] = await pair()
    const aChild = a.namespace('child')
    const bChild = b.namespace('child')
    await aChild.set('k', 'child')
    await a.set('k', 'parent')
    await synced(a, b)
    expect(await bChild.get('k')).toBe('child')
    expect(await b.get('k')).toBe('parent')
    const heard = nextEvent(b, 'bus:message', (m) => m.namespace === 'app')
    await a.set('k', 'parent2')
    await heard
    expect(internals(bChild).l1?.get('k')?.value).toBe('child')
    const childHeard = nextEvent(b, 'bus:message', (m) => m.namespace === 'app:child')
    await aChild.delete('k')
    await childHeard
    expect(await bChild.get('k')).toBeUndefined()
  })

  it('ignores its own messages', async () => {
    const [a, b] = await pair()
    const own: unknown[] = []
    a.on('bus:message', (m) => own.push(m))
    const heardByB = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.set('k', 1)
    await heardByB
    // A's subscription delivers in order: a marker published after the write arrives after A's own message.
    const marker = nextEvent(a, 'bus:message', (m) => m.items.includes('marker'))
    await b.set('marker', 1)
    await marker
    expect(own).toEqual([{ namespace: 'app', kind: 'keys', items: ['marker'] }])
    expect(internals(a).l1?.get('k')?.value).toBe(1) // its own write stays in its L1
  })

  it('ignores malformed and foreign messages on the channel with a bus:error event, and keeps working', async () => {
    const [a, b] = await pair()
    const raw = new Redis(env.server.url)
    try {
      const errors: BusError[] = []
      b.on('bus:error', (e) => errors.push(e.error))
      const channel = channelOf('tc', 'app')
      await raw.publish(channel, 'hello')
      await raw.publish(channel, Buffer.from([0x54, 0x42, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
      const lie = encodeMessage('keys', newOrigin(), ['k'])
      lie[12] = 0x7f // item count larger than the message
      await raw.publish(channel, lie)
      await raw.publish(channel, encodeMessage('keys', newOrigin(), ['k']).subarray(0, 14)) // truncated
      await a.set('k', 1)
      await synced(a, b)
      expect(await b.get('k')).toBe(1)
      const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
      await a.set('k', 2)
      await heard
      expect(await b.get('k')).toBe(2)
      expect(errors).toHaveLength(4)
      for (const error of errors) {
        expect(error).toBeInstanceOf(BusError)
        expect(error.code).toBe('E_BUS')
      }
    } finally {
      raw.disconnect()
    }
  })

  it('sends compact binary messages that carry keys and an origin, never values', async () => {
    const [a] = await pair()
    const raw = new Redis(env.server.url)
    try {
      await raw.psubscribe('tc:bus:*')
      const got = new Promise<Buffer>((resolve) =>
        raw.once('pmessageBuffer', (_p: string, _c: Buffer, m: Buffer) => resolve(m)),
      )
      await a.set('product:1', { name: 'a value that must not travel', price: 12.5 })
      const message = await got
      expect(message.length).toBeLessThanOrEqual(24)
      expect(message.includes(Buffer.from('product:1'))).toBe(true)
      expect(message.includes(Buffer.from('must not travel'))).toBe(false)
      expect(message.subarray(4, 12).equals(busOf(a).origin)).toBe(true)
    } finally {
      raw.disconnect()
    }
  })

  it('a clear whose announcement failed is announced from the retry queue, and rejects meanwhile', async () => {
    const [a, b] = await pair()
    const client = internals(a).ctx.l2?.connection.client as Redis
    const publish = client.publish.bind(client)
    let failures = 2
    client.publish = ((channel: string, message: Buffer) => {
      if (failures-- > 0) return Promise.reject(new Error('injected publish failure'))
      return publish(channel, message)
    }) as typeof client.publish
    const errors: string[] = []
    a.on('bus:error', (e) => errors.push(e.operation))
    await a.set('k', 1) // writes announce inside their own Lua call: the injected failures do not touch them
    await synced(a, b)
    expect(await b.get('k')).toBe(1)
    expect(internals(b).l1?.get('k')).toBeDefined()
    const heard = nextEvent(b, 'bus:message', (m) => m.kind === 'clear')
    // The deletes land; the clear's own PUBLISH fails, so it rejects, and the announcement is queued
    // (it may have landed), fails once more, then goes through on the retry.
    await expect(a.clear()).rejects.toMatchObject({ code: 'E_L2_COMMAND' })
    await heard
    expect(errors.filter((op) => op === 'publish').length).toBe(1)
    expect(internals(b).l1?.get('k')).toBeUndefined()
    expect(busOf(a).pending).toBe(0)
  })

  it('is off with bus: false, and refuses bus options without Redis', async () => {
    const a = createCache({ redis: env.server.url, bus: false })
    expect(internals(a).ctx.announcer).toBeUndefined()
    expect(() => createCache({ bus: true })).toThrow(/`bus` needs Redis/)
    expect(() => createCache({ redis: env.server.url, bus: { maxStaleness: -1 } })).toThrow(/bus\.maxStaleness.*-1/)
    expect(() => createCache({ redis: env.server.url, bus: { maxQueue: 0 } })).toThrow(/bus\.maxQueue.*0/)
    expect(() => createCache({ redis: env.server.url, bus: 'yes' as never })).toThrow(/`bus` to be an object/)
  })
})
