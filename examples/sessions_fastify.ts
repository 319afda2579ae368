// Runnable: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/sessions_fastify.ts`, then in another shell:
//   curl -c jar -b jar -X POST 'localhost:3000/login?user=ada'      # a fresh session id, indexed under ada
//   curl -c jar -b jar -X POST localhost:3000/visit                   # one field written, nothing else
//   curl -c jar -b jar localhost:3000/me                              # any server on this Redis sees the same
//   curl -c jar -b jar -X POST localhost:3000/logout-everywhere       # ends ada's other sessions
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify from 'fastify'
import { FastifySessionStore } from '../src/sessions/fastify.js'
import { createSessionStore } from '../src/sessions/index.js'

declare module 'fastify' {
  interface Session {
    userId?: string
    visits?: number
    [field: string]: unknown
  }
}

const sessions = createSessionStore({
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.SESSION_PREFIX ?? 'example:sess',
  secret: process.env.SESSION_KEY_SECRET || undefined,
  idleTimeout: '30m',
  absoluteTimeout: '7d',
})
const store = new FastifySessionStore(sessions, { userField: 'userId' })
store.on('conflict', ({ operation, reason }) => console.error(`a ${operation} was dropped: session ${reason}`))

const app = Fastify({ trustProxy: true })
await app.register(fastifyCookie)
await app.register(fastifySession, {
  store,
  cookieName: 'sid',
  secret: process.env.COOKIE_SECRET ?? 'development only: set COOKIE_SECRET (32+ chars)',
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', secure: process.env.NODE_ENV === 'production', maxAge: 7 * 86_400_000 },
})

app.post('/login', async (request) => {
  await request.session.regenerate() // a new id at login; the old one is dead at once
  request.session.userId = String((request.query as { user?: string }).user ?? 'ada')
  return { userId: request.session.userId }
})

app.post('/visit', async (request) => {
  request.session.visits = (request.session.visits ?? 0) + 1
  return { visits: request.session.visits }
})

app.get('/me', async (request) => {
  const { userId, visits } = request.session
  const fields = Object.keys(request.session).filter((name) => name !== 'cookie' && !name.startsWith('__'))
  const devices = userId === undefined ? [] : await sessions.listForUser(userId)
  const mine = await sessions.refOf(request.session.sessionId)
  return { userId, visits, fields, pid: process.pid, devices: devices.map((d) => ({ ...d, mine: d.ref === mine })) }
})

app.post('/logout-everywhere', async (request) => {
  const { userId } = request.session
  const ended =
    userId === undefined ? 0 : await sessions.destroyAllForUser(userId, { except: request.session.sessionId })
  return { ended }
})

app.post('/logout', async (request) => {
  await request.session.destroy()
  return { ok: true }
})

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(
  JSON.stringify({ listening: app.server.address() !== null ? (app.server.address() as { port: number }).port : 0 }),
)

process.once('SIGTERM', () => {
  app
    .close()
    .then(() => sessions.close())
    .catch((error: unknown) => console.error(error))
})
