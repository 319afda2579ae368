/**
 * The per-user index: listForUser, refOf, destroyByRef, destroyAllForUser, moves between users, pruning, and the
 * invariant that a live session is never missing from its user's index (forced by holding a create's reply).
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createSessionStore, type SessionStore, type SessionStoreOptions } from '../../src/sessions/index.js'
import { SessionKeys } from '../../src/sessions/keys.js'
import { CREATE } from '../../src/sessions/scripts.js'
import { useRedis } from '../support/redis_server.js'
import { gate } from '../support/sessions_suite.js'

const redis = useRedis()
const open: Array<{ close(): Promise<void> } | { disconnect(): void }> = []
afterEach(async () => {
  for (const o of open.splice(0)) await ('close' in o ? o.close() : o.disconnect())
})

const MIN = 60_000
const keys = new SessionKeys('tc:sess', undefined)

function store(options: Partial<SessionStoreOptions> = {}): SessionStore {
  const s = createSessionStore({ redis: redis.url, idleTimeout: 30 * MIN, absoluteTimeout: 60 * MIN, ...options })
  open.push(s)
  return s
}

async function createMany(s: SessionStore, n: number, userId?: string): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, (_, j) =>
      s.create({ n: i + j }, userId === undefined ? {} : { userId }),
    )
    ids.push(...(await Promise.all(batch)).map((r) => r.id))
  }
  return ids
}

describe('user index', () => {
  it('lists a user’s live sessions with a ref that is not the id; refOf tells the caller’s own', async () => {
    const s = store()
    const [first, second] = await createMany(s, 2, 'ada')
    const { id: anonymous } = await s.create({})
    const list = await s.listForUser('ada')
    expect(list).toHaveLength(2)
    for (const entry of list) {
      expect(entry.ref).toMatch(/^[A-Za-z0-9_-]{38}$/)
      expect(entry.ref).not.toContain(first as string)
      expect(entry.createdAt).toBeInstanceOf(Date)
      expect(entry.lastActiveAt.getTime()).toBeGreaterThanOrEqual(entry.createdAt.getTime())
    }
    const mine = await s.refOf(second as string)
    expect(list.filter((e) => e.ref === mine)).toHaveLength(1)
    expect(await s.refOf(anonymous)).toBeUndefined()
    expect(await s.listForUser('nobody')).toEqual([])
  })

  it('regenerate keeps the same index entry; the old id has none', async () => {
    const s = store()
    const { id } = await s.create({ a: 1 }, { userId: 'ada' })
    const ref = await s.refOf(id)
    const { id: next } = await s.regenerate(id)
    expect(await s.refOf(next)).toBe(ref)
    expect(await s.refOf(id)).toBeUndefined()
    expect((await s.listForUser('ada')).map((e) => e.ref)).toEqual([ref])
  })

  it('destroyByRef ends that one session, and only for its own user when userId is given', async () => {
    const s = store()
    const [keep, end] = await createMany(s, 2, 'ada')
    const ref = (await s.refOf(end as string)) as string
    expect(await s.destroyByRef(ref, { userId: 'bob' })).toBe(false)
    expect(await s.get(end as string)).toBeDefined()
    expect(await s.destroyByRef('not a ref')).toBe(false)
    expect(await s.destroyByRef(ref, { userId: 'ada' })).toBe(true)
    expect(await s.get(end as string)).toBeUndefined()
    expect(await s.get(keep as string)).toBeDefined()
    expect(await s.destroyByRef(ref)).toBe(false)
    expect((await s.listForUser('ada')).map((e) => e.ref)).toEqual([await s.refOf(keep as string)])
  })

  it('destroyAllForUser over 1,000 sessions of one user ends them all (but `except`), others untouched', async () => {
    const s = store()
    const ada = await createMany(s, 1000, 'ada')
    const bob = await createMany(s, 50, 'bob')
    const anonymous = await createMany(s, 50)
    const except = ada[500] as string
    const started = performance.now()
    expect(await s.destroyAllForUser('ada', { except })).toBe(999)
    const took = performance.now() - started
    const alive = await Promise.all(ada.map((id) => s.get(id)))
    expect(alive.filter((d) => d !== undefined)).toEqual([{ n: 500 }])
    expect((await Promise.all([...bob, ...anonymous].map((id) => s.get(id)))).every((d) => d !== undefined)).toBe(true)
    expect(await s.listForUser('ada')).toHaveLength(1)
    expect(await s.listForUser('bob')).toHaveLength(50)
    const [index] = keys.indexKeys(keys.userTag('ada'))
    expect(await redis.raw.zcard(index)).toBe(1)
    expect(took).toBeLessThan(15_000) // O(ada's sessions): no SCAN of the keyspace
  })

  it('moves a session between users on update; userId: null takes it out of every index', async () => {
    const s = store()
    const { id } = await s.create({ a: 1 })
    await s.update(id, { set: { userId: 'ada' }, userId: 'ada' })
    expect(await s.listForUser('ada')).toHaveLength(1)
    const ref = await s.refOf(id)
    await s.update(id, { set: { b: 2 }, userId: 'ada' }) // same user: same entry
    expect(await s.refOf(id)).toBe(ref)
    await s.update(id, { userId: 'bob' })
    expect(await s.listForUser('ada')).toEqual([])
    expect(await s.listForUser('bob')).toHaveLength(1)
    await s.update(id, { userId: null })
    expect(await s.listForUser('bob')).toEqual([])
    expect(await s.refOf(id)).toBeUndefined()
    expect(await redis.raw.keys('tc:sess:u:*')).toEqual([])
  })

  it('prunes on read: idle-expired sessions leave the index, and nothing outlives the absolute deadline', async () => {
    const clock = { now: Date.now() }
    const s = store({ now: () => clock.now })
    await createMany(s, 3, 'ada')
    const [index, refs] = keys.indexKeys(keys.userTag('ada'))
    expect(await redis.raw.pttl(index)).toBeLessThanOrEqual(60 * MIN)
    expect(await redis.raw.pttl(refs)).toBeLessThanOrEqual(60 * MIN)
    clock.now += 31 * MIN // idle deadline passed; the keys still exist in real time
    expect(await s.listForUser('ada')).toEqual([])
    expect(await redis.raw.zcard(index)).toBe(0)
    // An entry whose session is long gone but never confirmed is dropped once its score (absolute deadline) passes.
    await redis.raw.zadd(index, clock.now - 1, 'x'.repeat(38))
    await redis.raw.hset(refs, 'x'.repeat(38), '0unconfirmed')
    expect(await s.listForUser('ada')).toEqual([])
    expect(await redis.raw.zcard(index)).toBe(0)
  })

  it('a session created while its user is logged out everywhere is never alive and unlisted (create held mid-way)', async () => {
    // The creating store's client holds the CREATE script until the test releases it: the ref is in the index
    // (pending), the session not yet in Redis.
    const client = new Redis(redis.url)
    open.push(client)
    const held = gate(1)
    for (const method of ['eval', 'evalsha'] as const) {
      const original = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>
      ;(client as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        if (args[0] === CREATE.sha || args[0] === CREATE.lua) await held.arrive()
        return original(...args)
      }
    }
    const creator = createSessionStore({ redis: client, idleTimeout: 30 * MIN, absoluteTimeout: 60 * MIN })
    open.push(creator)
    const other = store()
    const creating = creator.create({ fresh: true }, { userId: 'ada' })
    await held.allArrived
    expect(await other.listForUser('ada')).toEqual([]) // not there yet, and its pending ref is not pruned
    expect(await other.destroyAllForUser('ada')).toBe(0)
    held.release()
    const { id } = await creating
    expect((await other.listForUser('ada')).map((e) => e.ref)).toEqual([await other.refOf(id)])
    expect(await other.destroyAllForUser('ada')).toBe(1)
    expect(await other.get(id)).toBeUndefined()
  })
})
