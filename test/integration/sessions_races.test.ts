/**
 * Races on the standalone store, each interleaving forced: calls made in one tick go out on one connection in
 * that order, and Redis runs them in that order (every write is sent before the method's first `await`).
 */
import { afterEach, describe, expect, it } from 'vitest'
import {
  createSessionStore,
  SessionExistsError,
  SessionGoneError,
  type SessionStore,
} from '../../src/sessions/index.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const stores: SessionStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

function store(): SessionStore {
  const s = createSessionStore({ redis: redis.url, idleTimeout: '30m', absoluteTimeout: '1d' })
  stores.push(s)
  return s
}

const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )

describe('session races', () => {
  it('100 concurrent updates of different fields, from two servers: all 100 fields are there', async () => {
    const [a, b] = [store(), store()]
    const { id } = await a.create({ base: true })
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).update(id, { set: { [`f${i}`]: i } })),
    )
    const data = (await a.get(id)) as Record<string, unknown>
    expect(Object.keys(data)).toHaveLength(101)
    for (let i = 0; i < 100; i++) expect(data[`f${i}`]).toBe(i)
  })

  it('an update that reaches Redis after a destroy fails with E_SESSION_GONE and does not recreate the session', async () => {
    const s = store()
    const { id } = await s.create({ a: 1 })
    const destroyed = s.destroy(id)
    const late = settle(s.update(id, { set: { b: 2 } }))
    expect(await destroyed).toBe(true)
    const result = await late
    expect(result.ok).toBe(false)
    expect(!result.ok && result.error).toBeInstanceOf(SessionGoneError)
    expect(await s.get(id)).toBeUndefined()
    expect(await s.count()).toBe(0)
  })

  it('regenerate under concurrent updates: those before it are carried over, those after it fail, none is lost silently', async () => {
    const s = store()
    const { id } = await s.create({ base: true }, { userId: 'ada' })
    const before = Array.from({ length: 20 }, (_, i) => settle(s.update(id, { set: { [`before${i}`]: i } })))
    const regenerated = s.regenerate(id)
    const after = Array.from({ length: 20 }, (_, i) => settle(s.update(id, { set: { [`after${i}`]: i } })))
    const { id: next } = await regenerated
    expect((await Promise.all(before)).every((r) => r.ok)).toBe(true)
    const late = await Promise.all(after)
    expect(late.every((r) => !r.ok && r.error instanceof SessionGoneError)).toBe(true)
    const data = (await s.get(next)) as Record<string, unknown>
    expect(Object.keys(data).filter((k) => k.startsWith('before'))).toHaveLength(20)
    expect(Object.keys(data).filter((k) => k.startsWith('after'))).toHaveLength(0)
    expect(await s.get(id)).toBeUndefined()
    expect(await s.count()).toBe(1)
    expect(await s.listForUser('ada')).toHaveLength(1)
  })

  it('two servers creating one id at once: exactly one wins, the other gets E_SESSION_EXISTS', async () => {
    const [a, b] = [store(), store()]
    const results = await Promise.all([
      settle(a.create({ by: 'a' }, { id: 'same-id-from-the-framework' })),
      settle(b.create({ by: 'b' }, { id: 'same-id-from-the-framework' })),
    ])
    expect(results.filter((r) => r.ok)).toHaveLength(1)
    expect(results.filter((r) => !r.ok && r.error instanceof SessionExistsError)).toHaveLength(1)
  })

  it('log out everywhere racing touches and updates of those sessions: none comes back', async () => {
    const s = store()
    const ids = await Promise.all(Array.from({ length: 20 }, () => s.create({}, { userId: 'ada' }).then((r) => r.id)))
    const ended = s.destroyAllForUser('ada')
    const writes = ids.flatMap((id) => [settle(s.touch(id)), settle(s.update(id, { set: { late: true } }))])
    expect(await ended).toBe(20)
    await Promise.all(writes)
    expect((await Promise.all(ids.map((id) => s.get(id)))).every((d) => d === undefined)).toBe(true)
    expect(await s.count()).toBe(0)
    expect(await s.listForUser('ada')).toEqual([])
  })
})
