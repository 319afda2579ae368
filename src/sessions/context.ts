/** What every part of the session store shares: resolved options, the Redis connection, key derivation, events. */
import type { RedisConnection } from '../seam.js'
import type { SessionEmitter, SessionStoreEvents } from './events.js'
import type { SessionKeys } from './keys.js'
import type { ResolvedSessionOptions } from './options.js'

export interface SessionContext {
  readonly options: ResolvedSessionOptions
  readonly connection: RedisConnection
  readonly keys: SessionKeys
  readonly events: SessionEmitter<SessionStoreEvents>
}

/**
 * How long a tombstone keeps an ended session's id from being used again: until its absolute deadline with a
 * durable copy (which must never come back), otherwise for at most `idleTimeout` (long enough for any request
 * that loaded it to finish).
 */
export function tombstoneCap(ctx: SessionContext): number {
  return ctx.options.durable === undefined ? ctx.options.idleTimeout : ctx.options.absoluteTimeout
}
