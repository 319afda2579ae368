/**
 * Sessions, one in flight: read, per-field update and touch of one session of about 1 KB or 20 KB, against the
 * common approach measured in the same run, a whole-object store written with ioredis: the session is one
 * msgpack blob (the same codec as ours, so the storage strategy is what differs), read with GET, saved whole with
 * SET … PX on every change (what express-session stores such as connect-redis do), touched with PEXPIRE.
 *
 * tiercache: `get` (HGETALL, decode each field), `update` of one small field (one Lua call: size check, HSET,
 * activity, expiry, TTL) and `touch` with `touchAfter: 0` (always the write path: the same Lua call, no field).
 */
import { createSessionStore, type SessionStore } from '../../src/sessions/index.js'
import { expectValue, inFlight, type Scenario } from '../harness.js'
import { TTL_MS, type Peers } from '../peers.js'

export type SessionSize = '1KB' | '20KB'
export const SESSION_SIZES: readonly SessionSize[] = ['1KB', '20KB']

const TARGET_BYTES: Record<SessionSize, number> = { '1KB': 1024, '20KB': 20 * 1024 }
const BATCH = 200

/** A typical logged-in session (user, roles, CSRF token, preferences, flash, a cart), its cart sized to `size`. */
export function makeSession(size: SessionSize, pack: (value: unknown) => Uint8Array): Record<string, unknown> {
  const session: Record<string, unknown> = {
    cookie: { originalMaxAge: 86_400_000, expires: new Date(Date.now() + 86_400_000), httpOnly: true, path: '/' },
    userId: 'user-4242',
    roles: ['customer', 'beta'],
    csrf: 'Hk3vT0bq2GmYQx9c1sJf8LwZrA5uNpE7dKiO4yWhXtC',
    loggedInAt: new Date(),
    prefs: { theme: 'dark', locale: 'en-GB', currency: 'EUR' },
    flash: [],
    lastPage: '/products/4242',
    visits: 0,
    cart: [] as unknown[],
  }
  const cart = session.cart as unknown[]
  for (let i = 0; pack(session).length < TARGET_BYTES[size]; i++)
    cart.push({ sku: `SKU-${100_000 + i}`, name: `Product number ${i}`, qty: 1 + (i % 3), price: 1999 + i })
  return session
}

export function sessionScenarios(peers: Peers, size: SessionSize): Scenario[] {
  const { raw } = peers
  const pack = (value: unknown): Uint8Array => raw.packr.pack(value)
  const data = makeSession(size, pack)
  const rawKey = `raw:session:${size}`
  let store: SessionStore | undefined
  let id = ''
  const sessions = (): SessionStore => {
    if (store === undefined) throw new Error('sessions scenario: setup did not run')
    return store
  }
  const setup = async (): Promise<void> => {
    if (store !== undefined) return
    store = createSessionStore({
      redis: raw.redis.duplicate(),
      idleTimeout: '1h',
      absoluteTimeout: '1d',
      touchAfter: 0,
    })
    id = (await store.create(data)).id
    await raw.redis.set(rawKey, Buffer.from(pack(data)), 'PX', TTL_MS)
  }
  const rawGet = async (): Promise<unknown> => {
    const bytes = await raw.redis.getBuffer(rawKey)
    return bytes === null ? undefined : (raw.packr.unpack(bytes) as unknown)
  }
  let visits = 0
  const rawSave = async (): Promise<void> => {
    data.visits = ++visits
    await raw.redis.set(rawKey, Buffer.from(pack(data)), 'PX', TTL_MS)
  }
  const rawTouch = async (): Promise<void> => {
    await raw.redis.pexpire(rawKey, TTL_MS)
  }

  return [
    {
      id: `session-read/${size}`,
      title: `session read (${size})`,
      setup,
      tasks: {
        tiercache: {
          ops: BATCH,
          batch: () => inFlight(1, BATCH, () => sessions().get(id)),
          check: async () => expectValue('session-read', 'tiercache', await sessions().get(id)),
        },
        raw: {
          ops: BATCH,
          batch: () => inFlight(1, BATCH, rawGet),
          check: async () => expectValue('session-read', 'raw', await rawGet()),
        },
      },
    },
    {
      id: `session-update/${size}`,
      title: `session update of one field vs whole-object SET (${size})`,
      setup,
      tasks: {
        tiercache: {
          ops: BATCH,
          batch: () => inFlight(1, BATCH, (i) => sessions().update(id, { set: { visits: i } })),
        },
        raw: { ops: BATCH, batch: () => inFlight(1, BATCH, rawSave) },
      },
    },
    {
      id: `session-touch/${size}`,
      title: `session touch vs PEXPIRE (${size})`,
      setup,
      tasks: {
        tiercache: { ops: BATCH, batch: () => inFlight(1, BATCH, () => sessions().touch(id)) },
        raw: { ops: BATCH, batch: () => inFlight(1, BATCH, rawTouch) },
      },
    },
  ]
}
