/**
 * Idle and absolute timeouts, enforced in Redis: the TTL is the earlier deadline, `get` refuses a session past
 * either even while its key still exists, a touch never passes the absolute deadline, and the stored expiry moves
 * with the TTL. Time is a fake clock handed to the store (`now`); Redis' own TTLs run in real time.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createSessionStore, type SessionStore, type SessionStoreOptions } from '../../src/sessions/index.js'
import { SessionKeys } from '../../src/sessions/keys.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const stores: SessionStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

const MIN = 60_000
const keys = new SessionKeys('tc:sess', undefined)

function clocked(options: Partial<SessionStoreOptions> = {}): { s: SessionStore; clock: { now: number } } {
  const clock = { now: Date.now() }
  const s = createSessionStore({
    redis: redis.url,
    idleTimeout: 30 * MIN,
    absoluteTimeout: 60 * MIN,
    touchAfter: 0,
    now: () => clock.now,
    ...options,
  })
  stores.push(s)
  return { s, clock }
}

const meta = async (id: string): Promise<Record<string, string>> => redis.raw.hgetall(keys.sessionKey(keys.hashOf(id)))
const pttl = async (id: string): Promise<number> => redis.raw.pttl(keys.sessionKey(keys.hashOf(id)))

describe('session timeouts', () => {
  it('idle: get refuses a session past its idle deadline even though the key still exists; update and touch too', async () => {
    const { s, clock } = clocked()
    const { id } = await s.create({ a: 1 })
    clock.now += 30 * MIN - 1
    expect(await s.get(id)).toEqual({ a: 1 })
    clock.now += 1
    expect(await redis.raw.exists(keys.sessionKey(keys.hashOf(id)))).toBe(1)
    expect(await s.get(id)).toBeUndefined()
    expect(await s.touch(id)).toBe(false)
    await expect(s.update(id, { set: { a: 2 } })).rejects.toMatchObject({ code: 'E_SESSION_GONE' })
    await expect(s.regenerate(id)).rejects.toMatchObject({ code: 'E_SESSION_GONE' })
  })

  it('activity moves the idle deadline; the stored expiry and the TTL move together', async () => {
    const { s, clock } = clocked()
    const { id } = await s.create({ a: 1 })
    expect(Number((await meta(id)).e)).toBe(clock.now + 30 * MIN)
    expect(await pttl(id)).toBeGreaterThan(30 * MIN - 5000)
    clock.now += 20 * MIN
    await s.update(id, { set: { a: 2 } })
    expect(Number((await meta(id)).e)).toBe(clock.now + 30 * MIN)
    expect(Number((await meta(id)).a)).toBe(clock.now)
    clock.now += 20 * MIN // 40 min after creation, 20 after the update
    expect(await s.get(id)).toEqual({ a: 2 })
    expect(await s.touch(id)).toBe(true)
    expect(Number((await meta(id)).e)).toBe(clock.now + 20 * MIN) // capped: absolute deadline at 60 min
  })

  it('absolute: touches never pass the absolute deadline, and the TTL is the earlier deadline', async () => {
    const { s, clock } = clocked()
    const created = clock.now
    const { id } = await s.create({ a: 1 })
    for (let t = 10; t <= 50; t += 10) {
      clock.now = created + t * MIN
      expect(await s.touch(id)).toBe(true)
      const e = Number((await meta(id)).e)
      expect(e).toBe(Math.min(clock.now + 30 * MIN, created + 60 * MIN))
      expect(await pttl(id)).toBeLessThanOrEqual(e - clock.now)
      expect(await pttl(id)).toBeGreaterThan(e - clock.now - 5000)
    }
    expect(Number((await meta(id)).x)).toBe(created + 60 * MIN)
    clock.now = created + 60 * MIN
    expect(await s.get(id)).toBeUndefined()
    expect(await s.touch(id)).toBe(false)
  })

  it('regenerate keeps the absolute deadline (and the creation time)', async () => {
    const { s, clock } = clocked()
    const created = clock.now
    const { id } = await s.create({ a: 1 })
    clock.now += 25 * MIN
    await s.touch(id)
    clock.now += 20 * MIN
    const { id: next } = await s.regenerate(id)
    expect(Number((await meta(next)).x)).toBe(created + 60 * MIN)
    expect(Number((await meta(next)).c)).toBe(created)
    expect(Number((await meta(next)).e)).toBe(created + 60 * MIN)
    clock.now = created + 60 * MIN
    expect(await s.get(next)).toBeUndefined()
  })

  it('touchAfter: a touch within it writes nothing; after it, the deadline moves', async () => {
    const { s, clock } = clocked({ touchAfter: 5 * MIN })
    const { id } = await s.create({ a: 1 })
    const before = await meta(id)
    clock.now += 5 * MIN - 1
    expect(await s.touch(id)).toBe(true)
    expect(await meta(id)).toEqual(before)
    clock.now += 1
    expect(await s.touch(id)).toBe(true)
    expect(Number((await meta(id)).a)).toBe(clock.now)
    expect(Number((await meta(id)).v)).toBe(Number(before.v) + 1)
    // An update is activity whatever touchAfter says.
    clock.now += 1
    await s.update(id, { set: { a: 2 } })
    expect(Number((await meta(id)).a)).toBe(clock.now)
  })

  it('the default touchAfter is a tenth of idleTimeout; 0 touches every time', async () => {
    const defaults = createSessionStore({ redis: redis.url, idleTimeout: '30m', absoluteTimeout: '1d' })
    stores.push(defaults)
    expect(defaults.touchAfter).toBe(3 * MIN)
    const { s, clock } = clocked({ touchAfter: 0 })
    const { id } = await s.create({})
    for (let i = 1; i <= 3; i++) {
      clock.now += 1
      await s.touch(id)
      expect(Number((await meta(id)).v)).toBe(1 + i)
    }
  })

  it('a real TTL: the key is gone from Redis once its deadline passes', async () => {
    const s = createSessionStore({ redis: redis.url, idleTimeout: 150, absoluteTimeout: '1h', touchAfter: 0 })
    stores.push(s)
    const { id } = await s.create({ a: 1 })
    const key = keys.sessionKey(keys.hashOf(id))
    expect(await redis.raw.pttl(key)).toBeLessThanOrEqual(150)
    // Wait for Redis to expire it (bounded), rather than a fixed sleep.
    const deadline = Date.now() + 5000
    while ((await redis.raw.exists(key)) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    expect(await redis.raw.exists(key)).toBe(0)
    expect(await s.get(id)).toBeUndefined()
  })
})
