/**
 * The same small app in Express (express-session) and Fastify (@fastify/session), on real HTTP servers on free
 * ports, for the adapter tests. Routes: POST /login?user= (regenerate, then log in), GET /me, POST /set?field=&value=,
 * POST /unset?field=, POST /slow?field=[&save] (loads, waits for the test, then changes a field [and saves before answering]), POST /logout, GET /ping.
 */
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import express from 'express'
import session from 'express-session'
import Fastify from 'fastify'

declare module 'express-session' {
  interface SessionData {
    userId?: string
    [field: string]: unknown
  }
}
declare module 'fastify' {
  interface Session {
    userId?: string
    [field: string]: unknown
  }
}

export type Framework = 'express' | 'fastify'

export interface AppHooks {
  /** Awaited by /set after the field is set, before the response (and so before the save). */
  onSet?: () => Promise<void>
  /** Awaited by /slow after its session is loaded, before it changes a field. */
  onSlow?: () => Promise<void>
}

export interface TestApp {
  url: string
  hooks: AppHooks
  /** Errors that reached the framework's error handler (answered with a 500). */
  errors: unknown[]
  close(): Promise<void>
}

export interface AppOptions {
  /** An express-session Store or a @fastify/session store, matching the framework. */
  store: object
  cookieSecret?: string
  /** Cookies with `Secure` (trusting X-Forwarded-Proto). */
  secure?: boolean
  maxAge?: number
}

export const COOKIE_SECRET = 'a test cookie secret that is long enough for fastify'

/** What /me answers: the session's fields but the cookie. */
function view(data: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(data))
    if (name !== 'cookie' && !name.startsWith('__')) fields[name] = value
  return fields
}

function query(url: string): URLSearchParams {
  return new URL(url, 'http://x').searchParams
}

export function startApp(framework: Framework, options: AppOptions): Promise<TestApp> {
  return framework === 'express' ? startExpress(options) : startFastify(options)
}

async function startExpress(options: AppOptions): Promise<TestApp> {
  const hooks: AppHooks = {}
  const errors: unknown[] = []
  const app = express()
  app.set('trust proxy', true)
  app.use(
    session({
      store: options.store as session.Store,
      name: 'sid',
      secret: options.cookieSecret ?? COOKIE_SECRET,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: options.secure ?? false, maxAge: options.maxAge ?? 3_600_000 },
    }),
  )
  app.post('/login', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error)
      req.session.userId = query(req.url).get('user') ?? 'ada'
      res.json({ userId: req.session.userId })
    })
  })
  app.get('/me', (req, res) => {
    res.json(view(req.session as unknown as Record<string, unknown>))
  })
  app.get('/ping', (_req, res) => {
    res.json({ ok: true })
  })
  app.post('/set', async (req, res) => {
    const q = query(req.url)
    req.session[q.get('field') as string] = q.get('value') ?? true
    await hooks.onSet?.()
    res.json({ ok: true })
  })
  app.post('/unset', (req, res) => {
    delete req.session[query(req.url).get('field') as string]
    res.json({ ok: true })
  })
  app.post('/slow', async (req, res) => {
    await hooks.onSlow?.()
    const q = query(req.url)
    req.session[q.get('field') as string] = true
    // ?save=1 saves before answering (express-session otherwise saves after the headers went out).
    if (q.has('save'))
      await new Promise<void>((resolve, reject) => req.session.save((e) => (e ? reject(e) : resolve())))
    res.json({ ok: true })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })))
  })
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(error)
    res.status(500).json({ code: (error as { code?: string }).code })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hooks,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function startFastify(options: AppOptions): Promise<TestApp> {
  const hooks: AppHooks = {}
  const errors: unknown[] = []
  const app = Fastify({ trustProxy: true })
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    store: options.store as fastifySession.SessionStore,
    cookieName: 'sid',
    secret: options.cookieSecret ?? COOKIE_SECRET,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: options.secure ?? false, maxAge: options.maxAge ?? 3_600_000 },
  })
  app.setErrorHandler((error, _request, reply) => {
    errors.push(error)
    void reply.status(500).send({ code: (error as { code?: string }).code })
  })
  app.post('/login', async (request) => {
    await request.session.regenerate()
    request.session.userId = query(request.url).get('user') ?? 'ada'
    return { userId: request.session.userId }
  })
  app.get('/me', async (request) => view(request.session as unknown as Record<string, unknown>))
  app.get('/ping', async () => ({ ok: true }))
  app.post('/set', async (request) => {
    const q = query(request.url)
    request.session.set(q.get('field') as string, q.get('value') ?? true)
    await hooks.onSet?.()
    return { ok: true }
  })
  app.post('/unset', async (request) => {
    delete request.session[query(request.url).get('field') as string]
    return { ok: true }
  })
  app.post('/slow', async (request) => {
    await hooks.onSlow?.()
    const q = query(request.url)
    request.session.set(q.get('field') as string, true)
    if (q.has('save')) await request.session.save()
    return { ok: true }
  })
  app.post('/logout', async (request) => {
    await request.session.destroy()
    return { ok: true }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    hooks,
    errors,
    close: () => app.close(),
  }
}
