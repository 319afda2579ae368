// Runnable: `REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/sessions_express.ts`, then in another shell:
//   curl -c jar -b jar -X POST 'localhost:3000/login?user=ada'      # a fresh session id, indexed under ada
//   curl -c jar -b jar -X POST localhost:3000/visit                   # one field written, nothing else
//   curl -c jar -b jar localhost:3000/me                              # any server on this Redis sees the same
//   curl -c jar -b jar -X POST localhost:3000/logout-everywhere       # ends ada's other sessions
// Start two of them (PORT=3001) and alternate: both serve one session.
import express from 'express'
import session from 'express-session'
import { ExpressSessionStore } from '../src/sessions/express.js'
import { createSessionStore } from '../src/sessions/index.js'

declare module 'express-session' {
  interface SessionData {
    userId?: string
    visits?: number
    [field: string]: unknown
  }
}

const sessions = createSessionStore({
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.SESSION_PREFIX ?? 'example:sess',
  secret: process.env.SESSION_KEY_SECRET || undefined, // with it, keys in Redis are HMACs of the ids
  idleTimeout: '30m',
  absoluteTimeout: '7d',
})
const store = new ExpressSessionStore(sessions, { userField: 'userId' })
store.on('conflict', ({ operation, reason }) => console.error(`a ${operation} was dropped: session ${reason}`))

const app = express()
app.set('trust proxy', 1)
app.use(
  session({
    store,
    name: 'sid',
    secret: process.env.COOKIE_SECRET ?? 'development only, set COOKIE_SECRET',
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: process.env.NODE_ENV === 'production', maxAge: 7 * 86_400_000 },
  }),
)

app.post('/login', (req, res, next) => {
  // A new id at login (no session fixation); the old one is dead at once.
  req.session.regenerate((error) => {
    if (error) return next(error)
    req.session.userId = String(req.query.user ?? 'ada')
    res.json({ userId: req.session.userId })
  })
})

app.post('/visit', (req, res) => {
  req.session.visits = (req.session.visits ?? 0) + 1
  res.json({ visits: req.session.visits })
})

app.get('/me', async (req, res) => {
  const { userId, visits, ...fields } = req.session
  const devices = userId === undefined ? [] : await sessions.listForUser(userId)
  const mine = await sessions.refOf(req.sessionID)
  res.json({
    userId,
    visits,
    fields: Object.keys(fields),
    pid: process.pid,
    devices: devices.map((d) => ({ ...d, mine: d.ref === mine })),
  })
})

app.post('/logout-everywhere', async (req, res) => {
  const { userId } = req.session
  const ended = userId === undefined ? 0 : await sessions.destroyAllForUser(userId, { except: req.sessionID })
  res.json({ ended })
})

app.post('/logout', (req, res, next) => {
  req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })))
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address()
  console.log(JSON.stringify({ listening: typeof address === 'object' && address !== null ? address.port : address }))
})

process.once('SIGTERM', () => {
  server.close()
  sessions.close().catch((error: unknown) => console.error(error))
})
