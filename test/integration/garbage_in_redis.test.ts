/** Contract point 9: garbage under one of our keys is a miss plus an event: never a throw, never prototype pollution. */
import { randomBytes } from 'node:crypto'
import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { DecodeError } from '../../src/index.js'
import { makeCache, nextEvent, readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis({ flush: false })

/** A well-formed envelope header (version 2) whose checksum field does not match what follows. */
function header(version = 2): Buffer {
  const h = Buffer.alloc(16)
  h.write('TC', 0, 'latin1')
  h[2] = version
  h.writeDoubleBE(Date.now() + 60_000, 4)
  h.writeUInt32BE(0x12345678, 12)
  return h
}

describe('garbage in Redis', () => {
  const cases: Array<[string, () => Promise<Buffer>]> = [
    ['random bytes', async () => randomBytes(64)],
    ['a plain string someone else wrote', async () => Buffer.from('hello from another app')],
    ['an empty value', async () => Buffer.alloc(0)],
    [
      'a truncated envelope',
      async () => {
        const writer = makeCache({ redis: redis.server.url, namespace: 'src' })
        await writer.set('full', { list: Array.from({ length: 50 }, (_, i) => ({ i })) })
        const full = (await redis.raw.getBuffer('tc:src::full')) as Buffer
        return full.subarray(0, full.length - 20)
      },
    ],
    ['an unknown envelope version', async () => Buffer.concat([header(99), pack({ a: 1 })])],
    ['a header with no payload', async () => header()],
    ['bad msgpack after a good header', async () => Buffer.concat([header(), Buffer.from([0xc1, 0xc1, 0xc1])])],
    ['a version 1 envelope (no checksum)', async () => Buffer.concat([header(1).subarray(0, 12), pack('old')])],
    ['valid msgpack after a good header', async () => Buffer.concat([header(), pack({ a: 1 })])],
  ]

  it.each(cases)('%s → miss + decode:error event', async (_name, make) => {
    await redis.raw.set('tc:g::k', await make())
    const cache = await readyCache({ redis: redis.server.url, namespace: 'g' })
    const event = nextEvent(cache, 'decode:error')
    expect(await cache.get('k')).toBeUndefined()
    const payload = await event
    expect(payload.key).toBe('k')
    expect(payload.error).toBeInstanceOf(DecodeError)
    expect(payload.error.code).toBe('E_DECODE')
    expect(cache.stats().decodeErrors).toBe(1)
    // getOrSet treats it as a miss and replaces the garbage.
    expect(await cache.getOrSet('k', () => 'fresh')).toBe('fresh')
    const other = makeCache({ redis: redis.server.url, namespace: 'g', l1: false })
    expect(await other.get('k')).toBe('fresh')
  })

  it('garbage in one key of getMany does not fail its neighbours', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'gm' })
    await cache.set('good', 1)
    await redis.raw.set('tc:gm::bad', randomBytes(20))
    const reader = makeCache({ redis: redis.server.url, namespace: 'gm' })
    expect(await reader.getMany(['good', 'bad'])).toEqual([1, undefined])
  })

  it('a payload trying __proto__ behind a valid header is a miss (checksum), with no pollution', async () => {
    const evil = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted2": "yes"}}, "a": 1}',
    ) as object
    await redis.raw.set('tc:p::k', Buffer.concat([header(), pack(evil)]))
    const cache = makeCache({ redis: redis.server.url, namespace: 'p' })
    const event = nextEvent(cache, 'decode:error')
    expect(await cache.get('k')).toBeUndefined()
    expect((await event).error.message).toContain('checksum')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted2).toBeUndefined()
  })

  it('random bytes behind a valid header are always a miss (200 payloads), never a value', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'rnd', l1: false })
    let errors = 0
    cache.on('decode:error', () => errors++)
    for (let i = 0; i < 200; i++) {
      await redis.raw.set('tc:rnd::k', Buffer.concat([header(), randomBytes(1 + (i % 40))]))
      expect(await cache.get('k')).toBeUndefined()
    }
    expect(errors).toBe(200)
  })

  it('a __proto__ key encoded by tiercache itself comes back as data, never as a prototype', async () => {
    const cache = makeCache({ redis: redis.server.url, namespace: 'p2' })
    await cache.set('k', JSON.parse('{"__proto__": {"polluted": "yes"}, "a": 1}'))
    const reader = makeCache({ redis: redis.server.url, namespace: 'p2', l1: false })
    const value = (await reader.get('k')) as Record<string, unknown>
    expect(value.a).toBe(1)
    expect(value.polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect([null, Object.prototype]).toContain(Object.getPrototypeOf(value))
  })
})
