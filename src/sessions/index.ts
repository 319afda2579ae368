/**
 * `tiercache/sessions`: sessions in Redis that any server can read. See README, "Sessions", and
 * ARCHITECTURE.md, "Sessions". The framework adapters are `tiercache/sessions/express` and
 * `tiercache/sessions/fastify`.
 */
export {
  createSessionStore,
  SessionStore,
  type SessionData,
  type SessionChange,
  type CreateSessionOptions,
} from './store.js'
export {
  SESSION_DEFAULTS,
  type SessionStoreOptions,
  type DurableSessionStore,
  type DurableSessionRecord,
} from './options.js'
export type { SessionInfo } from './user_index.js'
export type { SessionStoreEvents, SessionStoreEventName } from './events.js'
export {
  SessionGoneError,
  SessionTooLargeError,
  SessionExistsError,
  SessionDurableError,
  SessionStoreClosedError,
  sessionErrors,
  type AnySessionError,
} from './errors.js'
export { newSessionId } from './keys.js'
