/** express-session on tiercache sessions, over real HTTP (see test/support/sessions_suite.ts for the shared cases). */
import type { Request } from 'express'
import type { SessionData } from 'express-session'
import { afterEach, describe, expect, it } from 'vitest'
import { ExpressSessionStore } from '../../src/sessions/express.js'
import { createSessionStore, type SessionStore, type SessionStoreOptions } from '../../src/sessions/index.js'
import { useRedis } from '../support/redis_server.js'
import { adapterSuite } from '../support/sessions_suite.js'

describe('ExpressSessionStore', () => {
  adapterSuite('express')
})

describe('ExpressSessionStore, what express-session relies on the store for', () => {
  const redis = useRedis()
  const stores: SessionStore[] = []
  afterEach(async () => {
    redis.server.thaw()
    await Promise.all(stores.splice(0).map((s) => s.close()))
  })
  function adapter(options: Partial<SessionStoreOptions> = {}): { sessions: SessionStore; store: ExpressSessionStore } {
    const sessions = createSessionStore({
      redis: redis.url,
      idleTimeout: '30m',
      absoluteTimeout: '1d',
      touchAfter: 0,
      ...options,
    })
    stores.push(sessions)
    return { sessions, store: new ExpressSessionStore(sessions) }
  }
  const cookie = (expires: Date): Record<string, unknown> => ({
    originalMaxAge: 3_600_000,
    expires,
    httpOnly: true,
    path: '/',
  })

  it('get: callbacks or promises; null when absent; refuses a session whose stored cookie.expires has passed', async () => {
    const { sessions, store } = adapter()
    const { id: live } = await sessions.create({ cookie: cookie(new Date(Date.now() + 60_000)), n: 1 })
    const { id: expired } = await sessions.create({ cookie: cookie(new Date(Date.now() - 1)), n: 2 })
    expect(await store.promises.get(live)).toMatchObject({ n: 1 })
    expect(await store.promises.get(expired)).toBeNull()
    expect(await store.promises.get('absent-session-id')).toBeNull()
    const viaCallback = await new Promise((resolve, reject) => {
      store.get(live, (error, data) => (error ? reject(error as Error) : resolve(data)))
    })
    expect(viaCallback).toMatchObject({ n: 1, cookie: { expires: expect.any(Date) } })
  })

  it('touch moves the stored cookie.expires along with the TTL', async () => {
    const { sessions, store } = adapter()
    const soon = new Date(Date.now() + 1000)
    const { id } = await sessions.create({ cookie: cookie(soon), n: 1 })
    const data = await store.promises.get(id)
    const req = { sessionID: id, sessionStore: store } as unknown as Request
    const session = store.createSession(req, data as SessionData)
    session.touch() // express-session does this on every request: expires = now + originalMaxAge
    await store.promises.touch(id, session)
    const stored = (await sessions.get(id)) as { cookie: { expires: Date } }
    expect(stored.cookie.expires.getTime()).toBeGreaterThan(soon.getTime() + 3_000_000)
  })

  it('all, length and clear walk every session with SCAN', async () => {
    const { sessions, store } = adapter()
    for (let i = 0; i < 5; i++) await sessions.create({ cookie: cookie(new Date(Date.now() + 60_000)), i })
    await sessions.create({ cookie: cookie(new Date(Date.now() - 1)), i: 99 })
    expect(((await store.promises.all()) ?? []).map((s) => (s as unknown as { i: number }).i).sort()).toEqual([
      0, 1, 2, 3, 4,
    ])
    expect(await store.promises.length()).toBe(6) // length counts what Redis holds; all() refuses expired cookies
    await store.promises.clear()
    expect(await store.promises.length()).toBe(0)
  })

  it('never emits disconnect (which would make express-session run requests without a session)', async () => {
    const { sessions, store } = adapter({ timeout: 200 })
    const { id } = await sessions.create({ cookie: cookie(new Date(Date.now() + 60_000)) })
    let disconnects = 0
    store.on('disconnect', () => disconnects++)
    redis.server.freeze()
    await expect(store.promises.get(id)).rejects.toMatchObject({ code: 'E_L2_TIMEOUT' })
    redis.server.thaw()
    expect(disconnects).toBe(0)
  })
})
