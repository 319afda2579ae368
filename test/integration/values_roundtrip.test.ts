/** Contract point 8: whatever msgpackr's structured cloning carries comes back equal from Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeCache } from '../support/make_cache.js'
import { RedisServer } from '../support/redis_server.js'

let server: RedisServer
beforeAll(async () => (server = await RedisServer.start()))
afterAll(async () => server.close())

async function throughRedis<T>(value: T, codec: 'msgpack' | 'json' = 'msgpack'): Promise<unknown> {
  const writer = makeCache({ redis: server.url, namespace: `rt-${codec}`, codec })
  const reader = makeCache({ redis: server.url, namespace: `rt-${codec}`, codec, l1: false })
  await writer.set('v', value)
  return reader.get('v')
}

describe('msgpack codec round trips through Redis', () => {
  it.each([
    ['Date', new Date('2026-11-23T10:00:00.123Z')],
    [
      'Map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, { b: [3] }],
      ]),
    ],
    ['Set', new Set(['x', 1, null])],
    ['Buffer', Buffer.from([0, 1, 254, 255])],
    ['Uint8Array', new Uint8Array([9, 8, 7])],
    ['BigInt (small)', 42n],
    ['BigInt (huge)', 2n ** 200n + 1n],
    ['nested objects and arrays', { a: [{ b: { c: [1, 2, { d: 'e' }] } }], f: -0.5, g: '' }],
    ['null', null],
    ['false', false],
    ['0', 0],
    ['empty string', ''],
    ['unicode', 'héllo 🌍 世界'],
    ['RegExp', /a+b/gi],
  ])('%s', async (_name, value) => {
    const back = await throughRedis(value)
    expect(back).toEqual(value)
    if (value !== null && typeof value === 'object')
      expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value))
  })

  it('circular references', async () => {
    const node: { name: string; self?: unknown; list: unknown[] } = { name: 'n', list: [] }
    node.self = node
    node.list.push(node)
    const back = (await throughRedis(node)) as typeof node
    expect(back.name).toBe('n')
    expect(back.self).toBe(back)
    expect(back.list[0]).toBe(back)
  })

  it('undefined inside a structure survives; undefined at the top is refused', async () => {
    expect(await throughRedis({ a: undefined, b: [undefined, 1] })).toEqual({ a: undefined, b: [undefined, 1] })
    const cache = makeCache({ redis: server.url, namespace: 'rt-undef' })
    await expect(cache.set('k', undefined)).rejects.toThrow(TypeError)
  })
})

describe('json codec', () => {
  it('round trips what JSON carries', async () => {
    expect(await throughRedis({ a: [1, 'two', null, { b: true }] }, 'json')).toEqual({
      a: [1, 'two', null, { b: true }],
    })
  })

  it('refuses BigInt and functions with a TypeError', async () => {
    const cache = makeCache({ redis: server.url, namespace: 'rt-json', codec: 'json' })
    await expect(cache.set('k', { n: 1n })).rejects.toThrow(TypeError)
    await expect(cache.set('k', { f: () => 1 })).rejects.toThrow(TypeError)
  })
})
