/**
 * The operational failures of the session store. Like every tiercache error they extend `CacheError`, carry a
 * literal `code`, and build their own message, which never contains a session id (nor anything derived from one).
 */
import { CacheError } from '../index.js'

/**
 * The session no longer exists: it was destroyed, it expired (idle or absolute timeout), or it was regenerated
 * under a new id. Nothing was written, and the session was not recreated.
 */
export class SessionGoneError extends CacheError {
  static override readonly code = 'E_SESSION_GONE'
  declare readonly code: 'E_SESSION_GONE'
  constructor(
    /** The operation that found it gone: `'update'`, `'touch'`, `'regenerate'`. */
    readonly operation: string,
  ) {
    super(`Cannot ${operation} the session: it no longer exists (destroyed, expired or regenerated)`)
  }
}

/** The session's encoded fields would exceed `maxBytes`. Nothing was written. */
export class SessionTooLargeError extends CacheError {
  static override readonly code = 'E_SESSION_TOO_LARGE'
  declare readonly code: 'E_SESSION_TOO_LARGE'
  constructor(
    /** Encoded size the session would have (field names plus encoded values), in bytes. */
    readonly bytes: number,
    /** The store's `maxBytes`. */
    readonly limit: number,
  ) {
    super(`The session would be ${bytes} bytes encoded, over maxBytes (${limit}); nothing was written`)
  }
}

/** `create` with an `id` that is taken (a live session, or one destroyed recently). Nothing was written. */
export class SessionExistsError extends CacheError {
  static override readonly code = 'E_SESSION_EXISTS'
  declare readonly code: 'E_SESSION_EXISTS'
  constructor() {
    super('A session with this id exists or was ended recently; ids are never reused')
  }
}

/** The `durable` store rejected a write, read or delete. `cause` holds what it threw. */
export class SessionDurableError extends CacheError {
  static override readonly code = 'E_SESSION_DURABLE'
  declare readonly code: 'E_SESSION_DURABLE'
  constructor(
    readonly operation: 'load' | 'save' | 'destroy',
    cause: unknown,
  ) {
    // The cause's own message is not repeated: it is your code's, and might name the session.
    super(`The durable session store failed to ${operation} a session (see \`cause\`)`, { cause })
  }
}

/** The store was closed with `close()`. */
export class SessionStoreClosedError extends CacheError {
  static override readonly code = 'E_SESSION_STORE_CLOSED'
  declare readonly code: 'E_SESSION_STORE_CLOSED'
  constructor() {
    super('The session store is closed')
  }
}

/** Every error class of the session store, for `instanceof` checks. */
export const sessionErrors = {
  SessionGoneError,
  SessionTooLargeError,
  SessionExistsError,
  SessionDurableError,
  SessionStoreClosedError,
} as const

/** Any error the session store throws itself (Redis failures are the core's `L2*` errors). */
export type AnySessionError =
  SessionGoneError | SessionTooLargeError | SessionExistsError | SessionDurableError | SessionStoreClosedError
