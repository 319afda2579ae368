/**
 * The adapter tests, the same for Express (express-session) and Fastify (@fastify/session): real apps over real
 * HTTP with a cookie jar, against the real redis-server of the harness. Each race is forced with a gate the test
 * opens, never with a sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { afterEach, expect, it } from 'vitest'
import { ExpressSessionStore } from '../../src/sessions/express.js'
import { FastifySessionStore } from '../../src/sessions/fastify.js'
import { createSessionStore, type SessionStore, type SessionStoreOptions } from '../../src/sessions/index.js'
import { SessionKeys } from '../../src/sessions/keys.js'
import type { SessionConflict } from '../../src/sessions/bridge.js'
import { deferred } from './deferred.js'
import { COOKIE_SECRET, startApp, type AppOptions, type Framework, type TestApp } from './sessions_apps.js'
import { Browser, NaiveExpressStore, NaiveFastifyStore } from './sessions_http.js'
import { useRedis, type RedisFixture } from './redis_server.js'

/** `n` arrivals, held until the test releases them. */
export function gate(n: number): { arrive(): Promise<void>; allArrived: Promise<void>; release(): void } {
  let arrived = 0
  const all = deferred<void>()
  const open = deferred<void>()
  return {
    arrive() {
      if (++arrived === n) all.resolve()
      return open.promise
    },
    allArrived: all.promise,
    release: () => open.resolve(),
  }
}

/** The session id in a browser's `sid` cookie (signed: `s:<id>.<sig>` for express, `<id>.<sig>` for fastify). */
export function sidOf(browser: Browser): string {
  const raw = decodeURIComponent(browser.cookies.get('sid') ?? '')
  const unsigned = raw.startsWith('s:') ? raw.slice(2) : raw
  return unsigned.slice(0, unsigned.lastIndexOf('.'))
}

/** Every key, field, member and value in Redis, as text (to look for what must not be there). */
export async function redisDump(raw: RedisFixture['raw']): Promise<string> {
  const parts: string[] = []
  for (const key of await raw.keys('*')) {
    parts.push(key)
    const type = await raw.type(key)
    if (type === 'hash') parts.push(JSON.stringify(await raw.hgetall(key)))
    else if (type === 'zset') parts.push(JSON.stringify(await raw.zrange(key, '0', '-1')))
    else if (type === 'string') parts.push((await raw.get(key)) ?? '')
  }
  return parts.join('\n')
}

export function adapterSuite(framework: Framework): void {
  const redis = useRedis()
  const open: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    redis.server.thaw()
    await Promise.all(open.splice(0).map((o) => o.close()))
  })

  async function setup(
    options: Partial<SessionStoreOptions> = {},
    appOptions: Partial<AppOptions> = {},
  ): Promise<{
    sessions: SessionStore
    app: TestApp
    conflicts: SessionConflict[]
    browser: Browser
    keys: SessionKeys
  }> {
    const sessions = createSessionStore({ redis: redis.url, idleTimeout: '30m', absoluteTimeout: '1d', ...options })
    const adapter = framework === 'express' ? new ExpressSessionStore(sessions) : new FastifySessionStore(sessions)
    const conflicts: SessionConflict[] = []
    adapter.on('conflict', (conflict: SessionConflict) => conflicts.push(conflict))
    const app = await startApp(framework, { store: adapter, ...appOptions })
    open.push(app, sessions)
    return { sessions, app, conflicts, browser: new Browser(app.url), keys: new SessionKeys('tc:sess', undefined) }
  }

  it('login with regenerate: a new id, indexed under the user; the old id is dead; a change writes one field', async () => {
    const { sessions, browser, keys } = await setup()
    await browser.post('/set?field=theme&value=dark')
    const anonymous = sidOf(browser)
    expect((await browser.post('/login?user=ada')).body).toEqual({ userId: 'ada' })
    const sid = sidOf(browser)
    expect(sid).not.toBe(anonymous)
    expect(await sessions.get(anonymous)).toBeUndefined()
    expect((await browser.get('/me')).body).toEqual({ userId: 'ada' })
    const [entry] = await sessions.listForUser('ada')
    expect(entry?.ref).toBe(await sessions.refOf(sid))

    const key = keys.sessionKey(keys.hashOf(sid))
    const before = await redis.raw.hgetall(key)
    await browser.post('/set?field=cart&value=3')
    const after = await redis.raw.hgetall(key)
    expect((await browser.get('/me')).body).toEqual({ userId: 'ada', cart: '3' })
    expect(after['.userId']).toBe(before['.userId'])
    expect(Number(after.v)).toBe(Number(before.v) + 1)

    await browser.post('/logout')
    expect(await sessions.get(sid)).toBeUndefined()
    expect(await sessions.listForUser('ada')).toEqual([])
    expect((await browser.get('/me')).body).toEqual({})
  })

  it('sets the cookie flags: HttpOnly, SameSite=Lax, Path=/, an expiry, and Secure behind https', async () => {
    const { browser, app } = await setup({}, { secure: true })
    await browser.post('/login?user=ada', { 'x-forwarded-proto': 'https' })
    const cookie = browser.lastSetCookie.find((c) => c.startsWith('sid='))
    expect(cookie).toBeDefined()
    expect(cookie).toMatch(/; HttpOnly/i)
    expect(cookie).toMatch(/; SameSite=Lax/i)
    expect(cookie).toMatch(/; Path=\//i)
    expect(cookie).toMatch(/; Expires=/i)
    expect(cookie).toMatch(/; Secure/i)
    // Over plain http a Secure cookie is not sent at all.
    const plain = new Browser(app.url)
    await plain.post('/login?user=bob')
    expect(plain.lastSetCookie.find((c) => c.startsWith('sid='))).toBeUndefined()
  })

  it('100 concurrent requests each changing a different field: all 100 are there (a whole-object store loses them)', async () => {
    const run = async (app: TestApp, browser: Browser): Promise<number> => {
      await browser.post('/login?user=ada')
      const all = gate(100)
      app.hooks.onSet = () => all.arrive()
      const requests = Array.from({ length: 100 }, (_, i) => browser.clone().post(`/set?field=f${i}&value=${i}`))
      await all.allArrived // every request has loaded the session; none has saved
      all.release()
      expect((await Promise.all(requests)).every((r) => r.status === 200)).toBe(true)
      const me = (await browser.get('/me')).body as Record<string, unknown>
      return Object.keys(me).filter((name) => /^f\d+$/.test(name)).length
    }
    const ours = await setup()
    expect(await run(ours.app, ours.browser)).toBe(100)
    expect(ours.conflicts).toEqual([])

    const naive = framework === 'express' ? new NaiveExpressStore(redis.raw) : new NaiveFastifyStore(redis.raw)
    const app = await startApp(framework, { store: naive })
    open.push(app)
    expect(await run(app, new Browser(app.url))).toBeLessThan(100)
  })

  it('a logout racing a slow request that saves after it: the session stays gone; a conflict event, no 500', async () => {
    const { sessions, app, browser, conflicts } = await setup()
    await browser.post('/login?user=ada')
    const sid = sidOf(browser)
    const slow = gate(1)
    app.hooks.onSlow = () => slow.arrive()
    const late = browser.clone().post('/slow?field=late')
    await slow.allArrived // the slow request has loaded the session
    expect((await browser.post('/logout')).status).toBe(200)
    slow.release()
    expect((await late).status).toBe(200)
    expect(conflicts).toEqual([{ operation: 'set', reason: 'gone' }])
    expect(await sessions.get(sid)).toBeUndefined()
    expect(await sessions.count()).toBe(0)
    expect(await sessions.listForUser('ada')).toEqual([])
    expect(app.errors).toEqual([])
  })

  it('regenerate under concurrent requests: saves under the old id are dropped, the old session never comes back', async () => {
    const { sessions, app, browser, conflicts } = await setup()
    await browser.post('/login?user=ada')
    const old = sidOf(browser)
    const held = gate(5)
    app.hooks.onSlow = () => held.arrive()
    const requests = Array.from({ length: 5 }, (_, i) => browser.clone().post(`/slow?field=old${i}`))
    await held.allArrived
    await browser.post('/login?user=ada') // logs in again: a new id; the old one is destroyed
    const fresh = sidOf(browser)
    held.release()
    expect((await Promise.all(requests)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    expect(conflicts).toEqual(Array.from({ length: 5 }, () => ({ operation: 'set', reason: 'gone' })))
    expect(await sessions.get(old)).toBeUndefined()
    expect(await sessions.get(fresh)).toMatchObject({ userId: 'ada' })
    expect(await sessions.count()).toBe(1)
    expect(await sessions.listForUser('ada')).toHaveLength(1)
  })

  it('a session is seen by two app processes (the example app in a child process)', async () => {
    const { browser } = await setup()
    const child = await startExample(framework, redis.url)
    try {
      await browser.post('/login?user=ada')
      const other = browser.clone(child.url)
      const seen = (await other.get('/me')).body as { userId?: string; pid: number }
      expect(seen.userId).toBe('ada')
      expect(seen.pid).toBe(child.pid)
      await other.post('/visit')
      expect((await browser.get('/me')).body).toEqual({ userId: 'ada', visits: 1 })
      await browser.post('/logout')
      expect(((await other.get('/me')).body as { userId?: string }).userId).toBeUndefined()
    } finally {
      child.process.kill('SIGKILL')
    }
  })

  it('Redis frozen: the request fails with a 5xx within the timeout, never a logged-out 200', async () => {
    const { app, browser } = await setup({ timeout: 300 })
    await browser.post('/login?user=ada')
    redis.server.freeze()
    const started = Date.now()
    const response = await browser.get('/me')
    expect(response.status).toBe(500)
    expect(response.body).toEqual({ code: 'E_L2_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(3000)
    redis.server.thaw()
    expect((await browser.get('/me')).body).toEqual({ userId: 'ada' })
    expect(app.errors).toHaveLength(1)
  })

  it('Redis frozen between the load and the save: a 5xx when the save comes before the answer', async () => {
    const { app, browser } = await setup({ timeout: 300 })
    await browser.post('/login?user=ada')
    const frozenDuringSave = async (path: string): Promise<number> => {
      const slow = gate(1)
      app.hooks.onSlow = () => slow.arrive()
      const saving = browser.post(path)
      await slow.allArrived // loaded while Redis answered
      redis.server.freeze()
      slow.release()
      const { status } = await saving
      redis.server.thaw()
      return status
    }
    expect(await frozenDuringSave('/slow?field=a&save')).toBe(500)
    // Without an explicit save, @fastify/session saves before the headers go out (a 500), express-session after
    // them: the request was answered already, and the coded error goes to the app's error handler.
    const status = await frozenDuringSave('/slow?field=b')
    if (framework === 'fastify') expect(status).toBe(500)
    await expect
      .poll(() => app.errors.map((e) => (e as { code?: string }).code))
      .toEqual(['E_L2_TIMEOUT', 'E_L2_TIMEOUT'])
  })

  it('touchAfter throttles touches: requests within it write nothing; touchAfter 0 touches every time', async () => {
    const throttled = await setup({ touchAfter: '10m' })
    await throttled.browser.post('/login?user=ada')
    const key = throttled.keys.sessionKey(throttled.keys.hashOf(sidOf(throttled.browser)))
    const before = await redis.raw.hgetall(key)
    for (let i = 0; i < 3; i++) expect((await throttled.browser.get('/ping')).status).toBe(200)
    expect(await redis.raw.hgetall(key)).toEqual(before)

    const every = await setup({ touchAfter: 0 })
    await every.browser.post('/login?user=bob')
    const key2 = every.keys.sessionKey(every.keys.hashOf(sidOf(every.browser)))
    const v0 = Number(await redis.raw.hget(key2, 'v'))
    for (let i = 0; i < 3; i++) await every.browser.get('/ping')
    expect(Number(await redis.raw.hget(key2, 'v'))).toBe(v0 + 3)
  })

  it('stores no session id: not in a key, a field or a value', async () => {
    const { browser } = await setup()
    await browser.post('/login?user=ada')
    await browser.post('/set?field=cart&value=3')
    const sid = sidOf(browser)
    expect(sid.length).toBeGreaterThanOrEqual(22)
    expect(await redisDump(redis.raw)).not.toContain(sid)
  })
}

/** Starts examples/sessions_<framework>.ts in a child process on a free port, sharing this test's sessions. */
async function startExample(
  framework: Framework,
  redisUrl: string,
): Promise<{ url: string; pid: number; process: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/sessions_${framework}.ts`], {
    env: { ...process.env, REDIS_URL: redisUrl, PORT: '0', SESSION_PREFIX: 'tc:sess', COOKIE_SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the example did not start within 15 s')), 15_000)
    child.once('exit', (code) => reject(new Error(`the example exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { listening?: number }
      if (message.listening !== undefined) {
        clearTimeout(timer)
        resolve(message.listening)
      }
    })
  })
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number, process: child }
}
