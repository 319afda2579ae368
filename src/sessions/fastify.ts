/**
 * `tiercache/sessions/fastify`: a store for @fastify/session on a tiercache session store. @fastify/session saves
 * the whole session on every request by default (`rolling`); the store turns each save into per-field changes,
 * and a save that only moves the cookie's expiry into a touch (at most once per `touchAfter`).
 *
 * ```ts
 * await app.register(fastifySession, { store: new FastifySessionStore(sessions), secret })
 * ```
 */
import { EventEmitter } from 'node:events'
import {
  LOADED_KEY,
  SessionBridge,
  settle,
  type LoadState,
  type SessionAdapterOptions,
  type SessionConflict,
} from './bridge.js'
import type { SessionData, SessionStore } from './store.js'

export type { SessionAdapterOptions, SessionConflict } from './bridge.js'

type Callback<T = void> = (error: unknown, value?: T) => void

/**
 * What a request loaded, kept on its session object: @fastify/session copies every enumerable property of what
 * `get` returned into the request's session, and this one travels with it. `toJSON` hides it from JSON (and from
 * @fastify/session's change detection); it is never stored.
 */
class LoadedToken {
  constructor(readonly state: LoadState) {}
  toJSON(): undefined {
    return undefined
  }
}

/**
 * A @fastify/session store that writes only what each request changed. Listen to `conflict` for saves dropped
 * because the session had ended meanwhile (`{ operation, reason }`, never the id). When Redis is down or slow,
 * loading and saving fail with a coded error, so the request gets a 5xx.
 */
export class FastifySessionStore extends EventEmitter {
  readonly #bridge: SessionBridge

  constructor(store: SessionStore, options: SessionAdapterOptions = {}) {
    super()
    this.#bridge = new SessionBridge(store, options, (conflict: SessionConflict) => this.emit('conflict', conflict))
  }

  /** The session (`S` is whatever session type your app declares), or null when there is none. */
  get<S = SessionData>(sessionId: string, callback: (error: unknown, session?: S | null) => void): void {
    settle(this.#get(sessionId) as Promise<S | null>, callback)
  }

  async #get(sessionId: string): Promise<SessionData | null> {
    const found = await this.#bridge.load(sessionId)
    if (found === undefined) return null
    Object.defineProperty(found.data, LOADED_KEY, {
      value: new LoadedToken(found.loaded),
      enumerable: true,
      writable: true,
      configurable: true,
    })
    return found.data
  }

  set(sessionId: string, session: object, callback: Callback): void {
    const token = (session as Record<string, unknown>)[LOADED_KEY]
    const state = token instanceof LoadedToken ? token.state : undefined
    const saved = this.#bridge.save(sessionId, session, state).then((next) => {
      ;(session as Record<string, unknown>)[LOADED_KEY] = new LoadedToken(next)
    })
    settle(saved, callback)
  }

  destroy(sessionId: string, callback: Callback): void {
    settle(
      this.#bridge.store.destroy(sessionId).then(() => undefined),
      callback,
    )
  }
}
