/** The session store on its own, against a real redis-server: the API, values, limits, errors, keys and garbage. */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { L2CommandError } from '../../src/index.js'
import {
  createSessionStore,
  SessionExistsError,
  SessionGoneError,
  SessionStoreClosedError,
  SessionTooLargeError,
  type SessionStore,
  type SessionStoreOptions,
} from '../../src/sessions/index.js'
import { SessionKeys } from '../../src/sessions/keys.js'
import { useRedis } from '../support/redis_server.js'
import { redisDump } from '../support/sessions_suite.js'

const redis = useRedis()
const stores: SessionStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

function store(options: Partial<SessionStoreOptions> = {}): SessionStore {
  const s = createSessionStore({ redis: redis.url, idleTimeout: '30m', absoluteTimeout: '1d', ...options })
  stores.push(s)
  return s
}

const keys = new SessionKeys('tc:sess', undefined)

describe('session store', () => {
  it('creates, reads, changes per field, touches, regenerates and destroys', async () => {
    const s = store()
    const { id } = await s.create({ cart: [1, 2], theme: 'light' })
    expect(id).toMatch(/^[A-Za-z0-9_-]{32}$/) // 24 random bytes
    expect(await s.get(id)).toEqual({ cart: [1, 2], theme: 'light' })
    await s.update(id, { set: { theme: 'dark' }, unset: ['cart'] })
    expect(await s.get(id)).toEqual({ theme: 'dark' })
    expect(await s.touch(id)).toBe(true)
    const { id: next } = await s.regenerate(id)
    expect(next).not.toBe(id)
    expect(await s.get(id)).toBeUndefined()
    expect(await s.get(next)).toEqual({ theme: 'dark' })
    expect(await s.destroy(next)).toBe(true)
    expect(await s.get(next)).toBeUndefined()
    expect(await s.destroy(next)).toBe(false)
    expect(await s.touch(next)).toBe(false)
  })

  it('round-trips values like the cache: Date, Map, Set, BigInt, Buffer, nested, null', async () => {
    const s = store()
    const data = {
      at: new Date('2024-01-02T03:04:05.678Z'),
      map: new Map<string, unknown>([['a', { b: [1, 2n] }]]),
      set: new Set(['x']),
      big: 2n ** 70n,
      bytes: Buffer.from('hello'),
      nested: { deep: { list: [null, true, 1.5] } },
      none: null,
    }
    const { id } = await s.create(data)
    const read = await s.get(id)
    expect(read).toEqual(data)
    expect(read?.at).toBeInstanceOf(Date)
  })

  it('update and touch never recreate a session that is gone: E_SESSION_GONE, nothing written', async () => {
    const s = store()
    const { id } = await s.create({ a: 1 })
    await s.destroy(id)
    const error = await s.update(id, { set: { b: 2 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionGoneError)
    expect((error as SessionGoneError).code).toBe('E_SESSION_GONE')
    expect(await s.touch(id)).toBe(false)
    await expect(s.regenerate(id)).rejects.toBeInstanceOf(SessionGoneError)
    await expect(s.update('never-existed', { set: { a: 1 } })).rejects.toBeInstanceOf(SessionGoneError)
    expect(await s.get(id)).toBeUndefined()
    expect(await s.count()).toBe(0)
  })

  it('creates only if absent: a taken or recently ended id is refused', async () => {
    const s = store()
    await s.create({ a: 1 }, { id: 'framework-chosen-id-0001' })
    await expect(s.create({ a: 2 }, { id: 'framework-chosen-id-0001' })).rejects.toBeInstanceOf(SessionExistsError)
    expect(await s.get('framework-chosen-id-0001')).toEqual({ a: 1 })
    await s.destroy('framework-chosen-id-0001')
    await expect(s.create({ a: 3 }, { id: 'framework-chosen-id-0001' })).rejects.toBeInstanceOf(SessionExistsError)
    expect(await s.get('framework-chosen-id-0001')).toBeUndefined()
  })

  it('refuses a session over maxBytes with E_SESSION_TOO_LARGE and writes nothing', async () => {
    const s = store({ maxBytes: 200 })
    await expect(s.create({ big: 'x'.repeat(300) })).rejects.toBeInstanceOf(SessionTooLargeError)
    expect(await redis.raw.dbsize()).toBe(0)
    const { id } = await s.create({ a: 'x'.repeat(80) })
    const key = keys.sessionKey(keys.hashOf(id))
    const before = await redis.raw.hgetall(key)
    const error = await s.update(id, { set: { b: 'y'.repeat(80), c: 'z'.repeat(50) } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionTooLargeError)
    expect((error as SessionTooLargeError).limit).toBe(200)
    expect((error as SessionTooLargeError).bytes).toBeGreaterThan(200)
    expect(await redis.raw.hgetall(key)).toEqual(before)
    // Replacing a field counts the new size, not both.
    await s.update(id, { set: { a: 'y'.repeat(90) } })
    await s.update(id, { unset: ['a'], set: { b: 'y'.repeat(150) } })
    expect(await s.get(id)).toEqual({ b: 'y'.repeat(150) })
  })

  it('keys are SHA-256 of the id, or an HMAC with `secret`: same options find the same session, others do not', async () => {
    const a = store({ secret: 'k1' })
    const b = store({ secret: 'k1' })
    const other = store({ secret: 'k2' })
    const { id } = await a.create({ n: 1 })
    expect(await b.get(id)).toEqual({ n: 1 })
    expect(await other.get(id)).toBeUndefined()
    expect(await redis.raw.exists(keys.sessionKey(keys.hashOf(id)))).toBe(0)
    expect(await redis.raw.exists(new SessionKeys('tc:sess', Buffer.from('k1')).sessionKey(keys.hashOf(id)))).toBe(0)
    expect(
      await redis.raw.exists(
        new SessionKeys('tc:sess', Buffer.from('k1')).sessionKey(
          new SessionKeys('tc:sess', Buffer.from('k1')).hashOf(id),
        ),
      ),
    ).toBe(1)
  })

  it('no raw id anywhere: not in Redis, not in an event, not in an error message', async () => {
    const s = store()
    const seen: string[] = []
    for (const name of ['session:garbage', 'index:error', 'durable:error', 'redis:error'] as const)
      s.on(name, (payload) => seen.push(JSON.stringify(payload)))
    const { id } = await s.create({ a: 1 }, { userId: 'ada' })
    await s.update(id, { set: { b: 2 } })
    const { id: next } = await s.regenerate(id)
    for (const attempt of [
      () => s.update(id, { set: { c: 3 } }),
      () => s.regenerate(id),
      () => s.create({}, { id: next }),
      () => s.update(next, { set: { big: 'x'.repeat(2_000_000) } }),
      () => s.get(next.repeat(40)),
    ])
      seen.push(String(((await attempt().catch((e: unknown) => e)) as Error).message))
    const dump = await redisDump(redis.raw)
    for (const secret of [id, next]) {
      expect(dump).not.toContain(secret)
      for (const text of seen) expect(text).not.toContain(secret)
    }
    expect(seen.length).toBeGreaterThanOrEqual(5)
  })

  it('garbage in Redis is a miss plus a session:garbage event', async () => {
    const s = store()
    const reasons: string[] = []
    s.on('session:garbage', ({ reason }) => reasons.push(reason))
    const { id } = await s.create({ a: 1 })
    const key = keys.sessionKey(keys.hashOf(id))
    await redis.raw.hset(key, '.a', Buffer.from([0x92, 0x01])) // truncated: an array of 2 holding 1
    expect(await s.get(id)).toBeUndefined()
    await redis.raw.hset(key, 'e', 'soon')
    expect(await s.get(id)).toBeUndefined()
    await redis.raw.del(key)
    await redis.raw.set(key, 'a string where a hash should be')
    expect(await s.get(id)).toBeUndefined()
    await expect(s.update(id, { set: { a: 2 } })).rejects.toBeInstanceOf(SessionGoneError)
    expect(reasons).toHaveLength(3)
    expect(await redis.raw.get(key)).toBe('a string where a hash should be') // nothing overwritten
  })

  it('rejects misuse with a TypeError naming the argument, never echoing an id', async () => {
    expect(() => createSessionStore({ redis: redis.url, idleTimeout: 0, absoluteTimeout: '1d' })).toThrow(
      /Expected `idleTimeout` to be a finite duration more than zero.*got `0` \(number\)/,
    )
    expect(() =>
      createSessionStore({ redis: redis.url, idleTimeout: '1m', absoluteTimeout: '1d', touchAfter: '2m' }),
    ).toThrow(/`touchAfter` to be less than `idleTimeout`/)
    expect(() =>
      createSessionStore({ redis: redis.url, idleTimeout: '1m', absoluteTimeout: '1d', maxBytes: -1 }),
    ).toThrow(/`maxBytes`/)
    expect(() =>
      createSessionStore({
        redis: redis.url,
        idleTimeout: '1m',
        absoluteTimeout: '1d',
        secret: 42 as unknown as string,
      }),
    ).toThrow(/`secret`.*got a number/)
    const s = store()
    await expect(s.get('')).rejects.toThrow(/Expected `id` to be a session id/)
    await expect(s.get('x'.repeat(2000))).rejects.toThrow(/got a string of 2000 characters/)
    await expect(s.create([] as unknown as Record<string, unknown>)).rejects.toThrow(/`data` to be an object/)
    await expect(s.create({ f: () => 1 })).rejects.toThrow(/Cannot encode session field "f"/)
    const { id } = await s.create({})
    await expect(s.update(id, { set: { a: 1 }, unset: ['a'] })).rejects.toThrow(/different fields/)
    await expect(s.create({}, { userId: '' })).rejects.toThrow(/`userId` to be a non-empty string/)
  })

  it('close() closes only a client it opened; afterwards calls reject with E_SESSION_STORE_CLOSED', async () => {
    const client = new Redis(redis.url)
    try {
      const s = createSessionStore({ redis: client, idleTimeout: '30m', absoluteTimeout: '1d' })
      const { id } = await s.create({ a: 1 })
      await s.close()
      await expect(s.get(id)).rejects.toBeInstanceOf(SessionStoreClosedError)
      expect(await client.ping()).toBe('PONG')
    } finally {
      client.disconnect()
    }
  })

  it('Redis frozen: calls reject with a coded error within the timeout, never hang or read as logged out', async () => {
    const s = store({ timeout: 200 })
    const { id } = await s.create({ a: 1 })
    redis.server.freeze()
    try {
      const started = Date.now()
      const errors = await Promise.all(
        [s.get(id), s.update(id, { set: { b: 1 } }), s.touch(id)].map((p) => p.catch((e: unknown) => e)),
      )
      expect(errors.map((e) => (e as L2CommandError).code)).toEqual(['E_L2_TIMEOUT', 'E_L2_TIMEOUT', 'E_L2_TIMEOUT'])
      expect(Date.now() - started).toBeLessThan(2000)
    } finally {
      redis.server.thaw()
    }
  })

  it('walks every session with SCAN: sessions(), count(), clear()', async () => {
    const s = store()
    for (let i = 0; i < 30; i++) await s.create({ i }, i % 3 === 0 ? { userId: `u${i}` } : {})
    const { id } = await s.create({ gone: true })
    await s.destroy(id) // a tombstone: not counted
    expect(await s.count()).toBe(30)
    const seen: number[] = []
    for await (const data of s.sessions()) seen.push(data.i as number)
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(await s.clear()).toBeGreaterThanOrEqual(31)
    expect(await redis.raw.dbsize()).toBe(0)
  })
})
