/**
 * What survives: Redis killed (SIGKILL) in the middle of a burst of updates, and the optional durable copy that
 * Redis falls back on when it has no copy of a session.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createSessionStore,
  SessionDurableError,
  type DurableSessionRecord,
  type DurableSessionStore,
  type SessionStore,
  type SessionStoreOptions,
} from '../../src/sessions/index.js'
import { RedisServer } from '../support/redis_server.js'
import { useRedis } from '../support/redis_server.js'

const stores: SessionStore[] = []
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
})

describe('Redis killed during a burst of updates', () => {
  // This server persists every write before acknowledging it (AOF, fsync always): an acknowledged update is on
  // disk. With the default `appendfsync everysec` up to a second of acknowledged writes can be lost in a crash.
  let server: RedisServer
  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  })
  afterAll(async () => server?.close())

  it('every update that was acknowledged is there after the restart', async () => {
    const s = createSessionStore({ redis: server.url, idleTimeout: '30m', absoluteTimeout: '1d', timeout: 1000 })
    stores.push(s)
    const { id } = await s.create({ start: true }, { userId: 'ada' })
    const acknowledged: string[] = []
    let killing: Promise<void> | undefined
    const writer = async (w: number): Promise<void> => {
      for (let n = 0; n < 1000; n++) {
        const field = `w${w}_${n}`
        try {
          await s.update(id, { set: { [field]: n } })
        } catch {
          return // Redis is gone: this update may or may not have landed
        }
        acknowledged.push(field)
        if (acknowledged.length === 300) killing = server.kill() // mid-burst: other writers have updates in flight
      }
    }
    await Promise.all([0, 1, 2, 3].map(writer))
    await killing
    expect(acknowledged.length).toBeGreaterThanOrEqual(300)
    expect(acknowledged.length).toBeLessThan(4000)
    await server.restart() // same port and directory: Redis replays its append-only file

    const after = createSessionStore({ redis: server.url, idleTimeout: '30m', absoluteTimeout: '1d' })
    stores.push(after)
    const data = (await after.get(id)) as Record<string, unknown>
    expect(data).toBeDefined()
    const missing = acknowledged.filter((field) => !(field in data))
    expect(missing).toEqual([])
    expect(await after.listForUser('ada')).toHaveLength(1)
  })
})

/** A durable store in memory that keeps the highest version per id, as DurableSessionStore asks. */
class MemoryDurable implements DurableSessionStore {
  readonly records = new Map<string, DurableSessionRecord>()
  readonly calls: string[] = []
  failSave = false

  async load(id: string): Promise<DurableSessionRecord | undefined> {
    this.calls.push('load')
    return this.records.get(id)
  }

  async save(id: string, record: DurableSessionRecord): Promise<void> {
    this.calls.push('save')
    if (this.failSave) throw new Error('database down')
    const current = this.records.get(id)
    if (current === undefined || current.version < record.version) this.records.set(id, structuredClone(record))
  }

  async destroy(id: string): Promise<void> {
    this.calls.push('destroy')
    this.records.delete(id)
  }
}

describe('durable fallback', () => {
  const redis = useRedis()
  function store(durable: DurableSessionStore, options: Partial<SessionStoreOptions> = {}): SessionStore {
    const s = createSessionStore({ redis: redis.url, idleTimeout: '30m', absoluteTimeout: '1d', durable, ...options })
    stores.push(s)
    return s
  }

  it('writes through on every change and restores a session Redis lost, with its user index entry', async () => {
    const durable = new MemoryDurable()
    const s = store(durable)
    const { id } = await s.create({ cart: [1], at: new Date(0) }, { userId: 'ada' })
    await s.update(id, { set: { theme: 'dark' }, unset: ['cart'] })
    const record = durable.records.get(id)
    expect(record?.data).toEqual({ at: new Date(0), theme: 'dark' })
    expect(record?.version).toBe(2)
    expect(record?.userId).toBe('ada')
    const ref = await s.refOf(id)

    await redis.raw.flushall() // evicted, flushed, lost in a failover
    expect(await s.get(id)).toEqual({ at: new Date(0), theme: 'dark' })
    expect(await s.refOf(id)).toBe(ref)
    expect((await s.listForUser('ada')).map((e) => e.ref)).toEqual([ref])

    await redis.raw.flushall()
    await s.update(id, { set: { more: 1 } }) // an update of a session Redis lost restores it first
    expect(await s.get(id)).toEqual({ at: new Date(0), theme: 'dark', more: 1 })
  })

  it('an ended session never comes back from the durable copy, even if a late save puts it there', async () => {
    const durable = new MemoryDurable()
    const s = store(durable)
    const { id } = await s.create({ a: 1 }, { userId: 'ada' })
    const stale = structuredClone(durable.records.get(id) as DurableSessionRecord)
    expect(await s.destroy(id)).toBe(true)
    expect(durable.records.has(id)).toBe(false)
    await durable.save(id, stale) // a save from a slow server, landing after the logout
    expect(await s.get(id)).toBeUndefined()

    const { id: other } = await s.create({ b: 1 }, { userId: 'ada' })
    expect(await s.destroyAllForUser('ada')).toBe(1)
    expect(durable.records.has(other)).toBe(true) // ended by user, not by id: the tombstone keeps it out
    expect(await s.get(other)).toBeUndefined()
  })

  it('refuses an expired durable record (and deletes it there)', async () => {
    const clock = { now: Date.now() }
    const durable = new MemoryDurable()
    const s = store(durable, { now: () => clock.now })
    const { id } = await s.create({ a: 1 })
    await redis.raw.flushall()
    clock.now += 31 * 60_000
    expect(await s.get(id)).toBeUndefined()
    await expect.poll(() => durable.records.has(id)).toBe(false)
  })

  it('a create the durable store refuses is not created at all', async () => {
    const durable = new MemoryDurable()
    durable.failSave = true
    const s = store(durable)
    const error = await s.create({ a: 1 }, { id: 'refused-by-the-database' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SessionDurableError)
    expect((error as SessionDurableError).message).not.toContain('refused-by-the-database')
    expect(await s.get('refused-by-the-database')).toBeUndefined()
    expect(await s.count()).toBe(0)
  })
})
