/**
 * The session store: sessions in Redis that any server can read, changed per field in one Lua call each, with
 * idle and absolute timeouts enforced in Redis, a per-user index, and an optional durable copy. See
 * ARCHITECTURE.md, "Sessions".
 */
import type { Codec } from '../index.js'
import { openRedis } from '../seam.js'
import type { SessionContext } from './context.js'
import { SessionExistsError, SessionGoneError, SessionStoreClosedError, SessionTooLargeError } from './errors.js'
import { SessionEmitter, type SessionStoreEvents } from './events.js'
import { newSessionId, SessionKeys } from './keys.js'
import {
  changeSession,
  createSession,
  destroySession,
  loadSession,
  regenerateSession,
  type EncodedChange,
  type WriteOutcome,
} from './lifecycle.js'
import { resolveSessionOptions, type SessionStoreOptions } from './options.js'
import { decodeFields, encodeData, type SessionMeta, type StoredSession } from './record.js'
import { clearAll, countLive, liveSessions } from './scan.js'
import { destroyAllForUser, destroyByRef, listForUser, type SessionInfo } from './user_index.js'
import { checkData, checkId, checkUnset, checkUserId } from './validate.js'

export type { EncodedChange, WriteOutcome } from './lifecycle.js'

const NO_FIELDS: ReadonlyMap<string, Buffer> = new Map()

/** A session's fields: any values the codec carries (with msgpack: Date, Map, Set, BigInt, Buffer, nested data). */
export type SessionData = Record<string, unknown>

export interface CreateSessionOptions {
  /** Index the session under this user (`listForUser`, `destroyAllForUser`). */
  userId?: string
  /** Create it under this id (an adapter's framework chose it); only if no session has or recently had it. */
  id?: string
}

export interface SessionChange<Data extends SessionData = SessionData> {
  /** Fields to write; the others are left as they are. */
  set?: Partial<Data>
  /** Fields to delete. */
  unset?: ReadonlyArray<keyof Data & string>
  /** Move the session to this user's index, or out of any with `null`. */
  userId?: string | null
}

export class SessionStore<Data extends SessionData = SessionData> {
  readonly #ctx: SessionContext
  #closed = false

  /** @internal Use {@link createSessionStore}. */
  constructor(ctx: SessionContext) {
    this.#ctx = ctx
  }

  /** The resolved `touchAfter` (ms). */
  get touchAfter(): number {
    return this.#ctx.options.touchAfter
  }

  /** @internal The codec of the fields. */
  get codec(): Codec {
    return this.#ctx.options.codec
  }

  /** @internal The store's clock (ms since the epoch). */
  now(): number {
    return this.#ctx.options.now()
  }

  /**
   * Creates a session (only if absent) and resolves with its id: 192 bits from the CSPRNG unless `id` is given.
   * @throws SessionTooLargeError over `maxBytes`; SessionExistsError when `id` is taken; TypeError for misuse.
   */
  async create(data: Data, options: CreateSessionOptions = {}): Promise<{ id: string }> {
    this.#open()
    checkData(data, 'data')
    const id = options.id === undefined ? newSessionId() : checkId(options.id)
    const userId = options.userId === undefined ? undefined : checkUserId(options.userId)
    const created = await this.createEncoded(id, encodeData(this.#ctx.options.codec, data), userId)
    if (created === undefined) throw new SessionExistsError()
    return { id }
  }

  /** The session's data, or undefined when it does not exist, ended or is past its idle or absolute deadline. */
  async get(id: string): Promise<Data | undefined> {
    const session = await this.load(checkId(id))
    return session === undefined ? undefined : this.decode(session)
  }

  /**
   * Writes and deletes fields in one atomic call; other fields are untouched. Counts as activity.
   * @throws SessionGoneError when the session does not exist (it is not recreated); SessionTooLargeError.
   */
  async update(id: string, change: SessionChange<Data>): Promise<void> {
    checkId(id)
    const set = checkData(change?.set ?? {}, 'set')
    const unset = checkUnset(change.unset, set)
    const userId = change.userId === undefined || change.userId === null ? change.userId : checkUserId(change.userId)
    const { fields, bytes } = encodeData(this.#ctx.options.codec, set)
    if (bytes > this.#ctx.options.maxBytes) throw new SessionTooLargeError(bytes, this.#ctx.options.maxBytes)
    this.#open()
    const outcome = await changeSession(this.#ctx, id, { set: fields, unset, userId, throttle: 0 })
    if (outcome.status === 'gone') throw new SessionGoneError('update')
  }

  /**
   * Marks activity: the idle deadline moves to now + `idleTimeout`, never past the absolute deadline. Within
   * `touchAfter` of the last activity it writes nothing. Resolves false (writing nothing) when the session is gone.
   */
  async touch(id: string): Promise<boolean> {
    this.#open()
    const outcome = await changeSession(this.#ctx, checkId(id), {
      set: NO_FIELDS,
      unset: [],
      throttle: this.touchAfter,
    })
    return outcome.status !== 'gone'
  }

  /**
   * Moves the session to a new id: same data, same user-index entry, same absolute deadline. The old id is dead at
   * once: a concurrent update of it either landed before (and is carried over) or fails with SessionGoneError.
   */
  async regenerate(id: string): Promise<{ id: string }> {
    this.#open()
    return { id: await regenerateSession(this.#ctx, checkId(id)) }
  }

  /** Ends the session (its durable copy first); resolves true when there was one. Its id stays unusable a while. */
  async destroy(id: string): Promise<boolean> {
    this.#open()
    return destroySession(this.#ctx, checkId(id))
  }

  /** The live sessions of a user, oldest first (an index read plus one read per session; never a SCAN). */
  async listForUser(userId: string): Promise<SessionInfo[]> {
    this.#open()
    return listForUser(this.#ctx, checkUserId(userId), this.#ctx.options.now())
  }

  /** The ref of this session in its user's index (to tell the caller's own entry in `listForUser`), if it has one. */
  async refOf(id: string): Promise<string | undefined> {
    this.#open()
    const key = this.#ctx.keys.sessionKey(this.#ctx.keys.hashOf(checkId(id)))
    const [r, e, x] = await this.#ctx.connection.run('session ref', (client) => client.hmget(key, 'r', 'e', 'x'))
    const now = this.#ctx.options.now()
    return r !== null && r !== '' && now < Number(e) && now < Number(x) ? r : undefined
  }

  /**
   * Ends the session with this ref. With `userId`, only if it is that user's: pass the signed-in user when the ref
   * comes from a request. Resolves true when a session was ended.
   */
  async destroyByRef(ref: string, options: { userId?: string } = {}): Promise<boolean> {
    this.#open()
    const userId = options.userId === undefined ? undefined : checkUserId(options.userId)
    return destroyByRef(this.#ctx, ref, userId, this.#ctx.options.now())
  }

  /** Ends every session of a user (log out everywhere), except `except` if given; resolves with how many. */
  async destroyAllForUser(userId: string, options: { except?: string } = {}): Promise<number> {
    this.#open()
    const except = options.except === undefined ? undefined : this.#ctx.keys.hashOf(checkId(options.except, 'except'))
    return destroyAllForUser(this.#ctx, checkUserId(userId), except, this.#ctx.options.now())
  }

  /** Every live session's data (no ids: they are not stored), by SCAN on every master. */
  async *sessions(): AsyncGenerator<Data> {
    this.#open()
    for await (const session of liveSessions(this.#ctx)) {
      const data = this.#decodeOrReport(session)
      if (data !== undefined) yield data
    }
  }

  /** How many live sessions there are, by SCAN on every master. */
  async count(): Promise<number> {
    this.#open()
    return countLive(this.#ctx)
  }

  /** Deletes every session and user index under this prefix (SCAN on every master, one key per command). */
  async clear(): Promise<number> {
    this.#open()
    return clearAll(this.#ctx)
  }

  on<K extends keyof SessionStoreEvents>(name: K, listener: (payload: SessionStoreEvents[K]) => void): this {
    this.#ctx.events.on(name, listener)
    return this
  }

  once<K extends keyof SessionStoreEvents>(name: K, listener: (payload: SessionStoreEvents[K]) => void): this {
    this.#ctx.events.once(name, listener)
    return this
  }

  off<K extends keyof SessionStoreEvents>(name: K, listener: (payload: SessionStoreEvents[K]) => void): this {
    this.#ctx.events.off(name, listener)
    return this
  }

  /** Closes the Redis connection if the store opened it (a client you passed in stays open). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#ctx.connection.close()
  }

  /** @internal The stored session (restored from the durable copy when Redis has none), or undefined. */
  async load(id: string): Promise<StoredSession | undefined> {
    this.#open()
    return loadSession(this.#ctx, id)
  }

  /** @internal Decodes a stored session; garbage is reported and read as undefined. */
  decode(session: StoredSession): Data | undefined {
    return this.#decodeOrReport(session)
  }

  /** @internal Creates a session from encoded fields, only if absent; its metadata, or undefined if taken. */
  async createEncoded(
    id: string,
    encoded: { fields: Map<string, Buffer>; bytes: number },
    userId: string | undefined,
  ): Promise<SessionMeta | undefined> {
    this.#open()
    return createSession(this.#ctx, id, encoded, userId)
  }

  /** @internal Writes encoded fields per field, atomically, as activity (see `changeSession`). */
  async writeEncoded(id: string, change: EncodedChange): Promise<WriteOutcome> {
    this.#open()
    return changeSession(this.#ctx, id, change)
  }

  #decodeOrReport(session: StoredSession): Data | undefined {
    try {
      return decodeFields(this.#ctx.options.codec, session.fields) as Data
    } catch (error) {
      this.#ctx.events.emit('session:garbage', { reason: `a field could not be decoded: ${(error as Error).message}` })
      return undefined
    }
  }

  #open(): void {
    if (this.#closed) throw new SessionStoreClosedError()
  }
}

/**
 * Creates a session store on Redis.
 *
 * ```ts
 * const sessions = createSessionStore({ redis: process.env.REDIS_URL, idleTimeout: '30m', absoluteTimeout: '7d' })
 * const { id } = await sessions.create({ cart: [] }, { userId: 'u42' })
 * await sessions.update(id, { set: { theme: 'dark' } })
 * ```
 * @throws TypeError when an option is invalid (the message names it).
 */
export function createSessionStore<Data extends SessionData = SessionData>(
  options: SessionStoreOptions,
): SessionStore<Data> {
  const resolved = resolveSessionOptions(options)
  const events = new SessionEmitter<SessionStoreEvents>('tiercache:session:')
  const connection = openRedis(resolved.redis, resolved.connection, {
    onCircuit: (state) => events.emit('redis:circuit', { state }),
    onError: (error) => events.emit('redis:error', { error }),
  })
  return new SessionStore<Data>({
    options: resolved,
    connection,
    keys: new SessionKeys(resolved.prefix, resolved.secret),
    events,
  })
}
