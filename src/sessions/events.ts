/**
 * The session store's events: typed, free when nobody listens, also published on `diagnostics_channel` as
 * `tiercache:session:<name>`. No payload ever holds a session id.
 */
import { channel } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import type { CacheError } from '../index.js'
import { publishEvent, type CircuitState } from '../seam.js'

export interface SessionStoreEvents {
  /** A session stored in Redis could not be read (garbage, truncated, another format): it was treated as missing. */
  'session:garbage': { reason: string }
  /**
   * Upkeep of a user index failed after the session operation itself succeeded. The stale entry is harmless (it
   * never lists a session that is gone) and is pruned when its session's absolute deadline passes.
   */
  'index:error': { operation: string; error: unknown }
  /** Best-effort work on the durable copy failed (deleting an expired record, the old record of a regenerate). */
  'durable:error': { operation: string; error: unknown }
  /** The circuit breaker in front of Redis changed state. */
  'redis:circuit': { state: CircuitState }
  /** The Redis client reported a connection error. */
  'redis:error': { error: CacheError }
}

export type SessionStoreEventName = keyof SessionStoreEvents

/** A typed emitter over `EventEmitter`; a throwing listener cannot break the operation that emitted. */
export class SessionEmitter<Events extends object> {
  readonly #emitter = new EventEmitter()
  readonly #channelPrefix: string

  constructor(channelPrefix: string) {
    this.#channelPrefix = channelPrefix
  }

  on<K extends keyof Events & string>(name: K, listener: (payload: Events[K]) => void): void {
    this.#emitter.on(name, listener)
  }

  once<K extends keyof Events & string>(name: K, listener: (payload: Events[K]) => void): void {
    this.#emitter.once(name, listener)
  }

  off<K extends keyof Events & string>(name: K, listener: (payload: Events[K]) => void): void {
    this.#emitter.off(name, listener)
  }

  emit<K extends keyof Events & string>(name: K, payload: Events[K]): void {
    publishEvent(channel(`${this.#channelPrefix}${name}`), this.#emitter, name, payload)
  }
}
