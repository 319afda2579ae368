/**
 * `tiercache/sessions/express`: a store for express-session (a real `Store`: `get`, `set`, `destroy`, `touch`, `all`,
 * `length`, `clear` with callbacks, as express-session calls them, and the same as promises under `promises`) on a
 * tiercache session store, saving per field.
 *
 * ```ts
 * app.use(session({ store: new ExpressSessionStore(sessions), secret, resave: false, saveUninitialized: false }))
 * ```
 */
import type { Request } from 'express'
import session from 'express-session'
import {
  GONE,
  SessionBridge,
  settle,
  type LoadState,
  type Loaded,
  type SessionAdapterOptions,
  type SessionConflict,
} from './bridge.js'
import type { SessionStore } from './store.js'

export type { SessionAdapterOptions, SessionConflict } from './bridge.js'

type SessionData = session.SessionData
type Callback<T = void> = (error: unknown, value?: T) => void

/** The store's methods as promises (`await store.promises.get(sid)`), like `fs.promises`. */
export interface ExpressSessionStorePromises {
  /** The session, or null when there is none, it ended, or its stored `cookie.expires` has passed. */
  get(sid: string): Promise<SessionData | null>
  /** Saves per field what changed since this session object was loaded; a session that ended is not recreated. */
  set(sid: string, data: SessionData): Promise<void>
  /** Moves the deadline and the stored `cookie.expires`, at most once per `touchAfter`. */
  touch(sid: string, data: SessionData): Promise<void>
  destroy(sid: string): Promise<void>
  /** Every live session's data, as an array: ids are not stored, only their digests. SCAN on every master. */
  all(): Promise<SessionData[]>
  length(): Promise<number>
  clear(): Promise<void>
}

/**
 * An express-session store that writes only what each request changed. Listen to `conflict` for saves dropped
 * because the session had ended meanwhile (`{ operation, reason }`, never the id). It never emits `disconnect`:
 * when Redis is down or slow, loading a session fails with a coded error, so the request gets a 5xx instead of
 * silently running logged out.
 */
export class ExpressSessionStore extends session.Store {
  readonly promises: ExpressSessionStorePromises
  readonly #bridge: SessionBridge
  /** What `get` returned → what was loaded; moved onto the request's session object by `createSession`. */
  readonly #byData = new WeakMap<object, Loaded>()
  readonly #bySession = new WeakMap<object, LoadState>()

  constructor(store: SessionStore, options: SessionAdapterOptions = {}) {
    super()
    this.#bridge = new SessionBridge(store, options, (conflict: SessionConflict) => this.emit('conflict', conflict))
    const sessions = this.#bridge.store
    this.promises = {
      get: (sid) => this.#get(sid),
      set: (sid, data) => this.#bridge.save(sid, data, this.#bySession.get(data)).then((s) => this.#remember(data, s)),
      touch: (sid, data) =>
        this.#bridge.touch(sid, data, this.#bySession.get(data)).then((s) => this.#remember(data, s)),
      destroy: (sid) => sessions.destroy(sid).then(() => undefined),
      all: () => this.#all(),
      length: () => sessions.count(),
      clear: () => sessions.clear().then(() => undefined),
    }
  }

  get(sid: string, callback: Callback<SessionData | null>): void {
    settle(this.promises.get(sid), callback)
  }

  /** @internal express-session builds the request's session here: it inherits what `get` loaded. */
  override createSession(req: Request, data: SessionData): session.Session & SessionData {
    const created = super.createSession(req, data)
    const loaded = this.#byData.get(data)
    if (loaded !== undefined) this.#bySession.set(created, loaded)
    return created
  }

  set(sid: string, data: SessionData, callback: Callback = this.#report): void {
    settle(this.promises.set(sid, data), callback)
  }

  override touch(sid: string, data: SessionData, callback: Callback = this.#report): void {
    settle(this.promises.touch(sid, data), callback)
  }

  destroy(sid: string, callback: Callback = this.#report): void {
    settle(this.promises.destroy(sid), callback)
  }

  override all(callback: Callback<SessionData[]>): void {
    settle(this.promises.all(), callback)
  }

  override length(callback: Callback<number>): void {
    settle(this.promises.length(), callback)
  }

  override clear(callback: Callback = this.#report): void {
    settle(this.promises.clear(), callback)
  }

  async #get(sid: string): Promise<SessionData | null> {
    const found = await this.#bridge.load(sid)
    if (found === undefined || cookieExpired(found.data.cookie, this.#bridge.store.now())) return null
    this.#byData.set(found.data, found.loaded)
    return found.data as unknown as SessionData
  }

  async #all(): Promise<SessionData[]> {
    const all: SessionData[] = []
    const now = this.#bridge.store.now()
    for await (const data of this.#bridge.store.sessions())
      if (!cookieExpired(data.cookie, now)) all.push(data as unknown as SessionData)
    return all
  }

  /** The callback of a `set`, `touch`, `destroy` or `clear` called without one: a failure is a `store:error` event. */
  readonly #report = (error: unknown): void => {
    if (error !== null && error !== undefined) this.emit('store:error', { error })
  }

  #remember(data: object, state: LoadState): void {
    if (state === undefined) this.#bySession.delete(data)
    else this.#bySession.set(data, state === GONE ? GONE : state)
  }
}

/** True when a stored cookie has an `expires` in the past (express-session relies on the store to check). */
function cookieExpired(cookie: unknown, now: number): boolean {
  const expires = (cookie as { expires?: unknown } | undefined)?.expires
  if (expires === undefined || expires === null) return false
  const time = expires instanceof Date ? expires.getTime() : new Date(expires as string).getTime()
  return Number.isFinite(time) && time <= now
}
