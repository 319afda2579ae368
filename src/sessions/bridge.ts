/**
 * What the express-session and @fastify/session adapters share. Both frameworks hand the store the whole session
 * object on every save; the bridge turns that into per-field changes: it remembers what each request loaded (the
 * encoded bytes of every field, kept with that request's session object, never in a map by id), writes only the
 * fields whose encoding changed and deletes only the fields that were removed, in one atomic call. A session that
 * was ended meanwhile is never recreated: the write is dropped and a `conflict` event says so (without the id).
 */
import { encodeData, setOwn } from './record.js'
import type { SessionData, SessionStore } from './store.js'

export interface SessionAdapterOptions {
  /**
   * The session field whose value (a string or number) indexes the session under a user, for `listForUser` and
   * `destroyAllForUser`. Setting it logs the session in under that user; deleting it takes it out of the index.
   * @default 'userId'
   */
  userField?: string
}

/** A save or touch that was dropped because the session had ended (`gone`) or its id was taken (`exists`). */
export interface SessionConflict {
  operation: 'set' | 'touch'
  reason: 'gone' | 'exists'
}

/** What one request loaded (or last wrote): the session id and the encoding of each field. */
export interface Loaded {
  readonly id: string
  readonly fields: ReadonlyMap<string, Buffer>
  readonly userId: string | undefined
  readonly lastActiveAt: number
}

/** Marks a session object whose session ended under it: its later saves are dropped at once. */
export const GONE = 'gone'
export type LoadState = Loaded | typeof GONE | undefined

export class SessionBridge {
  readonly store: SessionStore
  readonly #userField: string
  readonly #onConflict: (conflict: SessionConflict) => void

  constructor(store: SessionStore, options: SessionAdapterOptions, onConflict: (conflict: SessionConflict) => void) {
    if (typeof store !== 'object' || store === null || typeof store.writeEncoded !== 'function')
      throw new TypeError('Expected a session store from createSessionStore() as the first argument')
    const userField = options.userField ?? 'userId'
    if (typeof userField !== 'string' || userField.length === 0)
      throw new TypeError(`Expected \`userField\` to be a non-empty string, got ${String(userField)}`)
    this.store = store
    this.#userField = userField
    this.#onConflict = onConflict
  }

  /** The session's data and what was loaded, or undefined when there is none. */
  async load(id: string): Promise<{ data: SessionData; loaded: Loaded } | undefined> {
    const session = await this.store.load(id)
    if (session === undefined) return undefined
    const data = this.store.decode(session)
    if (data === undefined) return undefined
    const loaded = { id, fields: session.fields, userId: session.meta.userId, lastActiveAt: session.meta.lastActiveAt }
    return { data, loaded }
  }

  /** Saves a whole session object as per-field changes against what was loaded; what is loaded now. */
  async save(id: string, session: object, state: LoadState): Promise<LoadState> {
    if (state === GONE) return this.#conflict('set', 'gone')
    const encoded = encodeData(this.store.codec, plainOf(session))
    const userId = this.#userOf(session)
    const loaded = state?.id === id ? state : undefined
    if (loaded === undefined) {
      const meta = await this.store.createEncoded(id, encoded, userId)
      if (meta === undefined) return this.#conflict('set', 'exists')
      return { id, fields: encoded.fields, userId, lastActiveAt: meta.lastActiveAt }
    }
    const set = new Map<string, Buffer>()
    for (const [name, value] of encoded.fields)
      if (loaded.fields.get(name)?.equals(value) !== true) set.set(name, value)
    const unset = [...loaded.fields.keys()].filter((name) => !encoded.fields.has(name))
    if (userId === loaded.userId && unset.length === 0 && [...set.keys()].every((name) => name === COOKIE))
      return this.#touch(loaded, set, 'set')
    const outcome = await this.store.writeEncoded(id, {
      set,
      unset,
      throttle: 0,
      ...(userId !== loaded.userId && { userId: userId ?? null }),
    })
    if (outcome.status === 'gone') return this.#conflict('set', 'gone')
    return {
      id,
      fields: encoded.fields,
      userId,
      lastActiveAt: outcome.status === 'written' ? outcome.at : loaded.lastActiveAt,
    }
  }

  /** Activity without changes: moves the deadline and the stored cookie, at most once per `touchAfter`. */
  async touch(id: string, session: object, state: LoadState): Promise<LoadState> {
    if (state === GONE) return this.#conflict('touch', 'gone')
    if (state === undefined || state.id !== id) return state
    const set = new Map<string, Buffer>()
    const cookie = cookieOf(session)
    if (cookie !== undefined) {
      const encoded = encodeData(this.store.codec, { [COOKIE]: cookie }).fields.get(COOKIE) as Buffer
      if (state.fields.get(COOKIE)?.equals(encoded) !== true) set.set(COOKIE, encoded)
    }
    return this.#touch(state, set, 'touch')
  }

  async #touch(loaded: Loaded, set: Map<string, Buffer>, operation: SessionConflict['operation']): Promise<LoadState> {
    if (this.store.now() - loaded.lastActiveAt < this.store.touchAfter) return loaded
    const outcome = await this.store.writeEncoded(loaded.id, { set, unset: [], throttle: this.store.touchAfter })
    if (outcome.status === 'gone') return this.#conflict(operation, 'gone')
    if (outcome.status === 'throttled') return loaded
    return { ...loaded, fields: new Map([...loaded.fields, ...set]), lastActiveAt: outcome.at }
  }

  #conflict(operation: SessionConflict['operation'], reason: SessionConflict['reason']): typeof GONE {
    this.#onConflict({ operation, reason })
    return GONE
  }

  #userOf(session: object): string | undefined {
    const value = (session as Record<string, unknown>)[this.#userField]
    if (typeof value === 'string' && value !== '') return value
    if (typeof value === 'number' || typeof value === 'bigint') return String(value)
    return undefined
  }
}

const COOKIE = 'cookie'
/** The property under which the fastify adapter keeps what a request loaded (see fastify.ts). */
export const LOADED_KEY = '__tiercacheLoaded'

/** The cookie as the framework serializes it (its `toJSON()`), if the session has one. */
function cookieOf(session: object): unknown {
  const cookie = (session as Record<string, unknown>)[COOKIE]
  if (typeof cookie === 'object' && cookie !== null && typeof (cookie as { toJSON?: unknown }).toJSON === 'function')
    return (cookie as { toJSON(): unknown }).toJSON()
  return cookie
}

/** The session's own fields as plain data: the cookie serialized, the adapter's bookkeeping left out. */
function plainOf(session: object): SessionData {
  const plain: SessionData = {}
  for (const name of Object.keys(session)) {
    if (name === LOADED_KEY) continue
    setOwn(plain, name, name === COOKIE ? cookieOf(session) : (session as SessionData)[name])
  }
  return plain
}

/**
 * Settles a node-style `callback` with the promise's outcome, outside the promise chain: a callback that throws is an
 * uncaught exception, as with any callback API, never an unhandled rejection.
 */
export function settle<T>(promise: Promise<T>, callback: (error: unknown, value?: T) => void): void {
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (error: unknown) => process.nextTick(callback, error),
  )
}
