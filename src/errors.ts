/**
 * Operational failures are instances of {@link CacheError} subclasses, each with a stable `code`
 * (a literal type, so a `switch (error.code)` narrows) and a message of its own built from its
 * fields. Misuse (a bad key, a bad option, a value that cannot be encoded) is a plain `TypeError`
 * naming the bad value.
 */

/** The base of every operational error tiercache throws or emits. */
export class CacheError extends Error {
  static readonly code: string = 'E_CACHE'
  readonly code: string

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof CacheError).code
  }
}

/** The encoded value is larger than `maxValueBytes`. Nothing was written. */
export class ValueTooLargeError extends CacheError {
  static override readonly code = 'E_VALUE_TOO_LARGE'
  declare readonly code: 'E_VALUE_TOO_LARGE'
  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`Value for key "${key}" is ${bytes} bytes encoded, over maxValueBytes (${limit})`)
  }
}

/** The codec failed to encode a value for a reason other than misuse. Nothing was written. */
export class EncodeError extends CacheError {
  static override readonly code = 'E_ENCODE'
  declare readonly code: 'E_ENCODE'
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`Cannot encode the value for "${key}": ${messageOf(cause)}`, { cause })
  }
}

/** A payload read from Redis could not be decoded. Reported as an event; the read is a miss. */
export class DecodeError extends CacheError {
  static override readonly code = 'E_DECODE'
  declare readonly code: 'E_DECODE'
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`Cannot decode the value stored at "${key}": ${messageOf(cause)}`, { cause })
  }
}

/** A Redis command did not answer within `l2.timeout`. It may still have been applied. */
export class L2TimeoutError extends CacheError {
  static override readonly code = 'E_L2_TIMEOUT'
  declare readonly code: 'E_L2_TIMEOUT'
  constructor(
    readonly command: string,
    readonly timeout: number,
  ) {
    super(`Redis ${command} did not answer within ${timeout} ms`)
  }
}

/** The circuit breaker is open after repeated Redis failures: the command was not sent. */
export class L2UnavailableError extends CacheError {
  static override readonly code = 'E_L2_UNAVAILABLE'
  declare readonly code: 'E_L2_UNAVAILABLE'
  constructor(readonly command: string) {
    super(`Redis circuit is open after repeated failures; ${command} was not sent`)
  }
}

/** Redis answered with an error, or the connection failed. `cause` holds the original. */
export class L2CommandError extends CacheError {
  static override readonly code = 'E_L2_COMMAND'
  declare readonly code: 'E_L2_COMMAND'
  constructor(
    readonly command: string,
    cause: unknown,
  ) {
    super(`Redis ${command} failed: ${messageOf(cause)}`, { cause })
  }
}

/**
 * A write Redis applied, but fewer replicas than `l2.minReplicas` acknowledged it within `l2.replicaTimeout`
 * (`WAIT`): a failover now may lose it (README, "Sentinel"). The change was announced with the write.
 */
export class L2NotReplicatedError extends CacheError {
  static override readonly code = 'E_L2_NOT_REPLICATED'
  declare readonly code: 'E_L2_NOT_REPLICATED'
  constructor(
    readonly command: string,
    readonly acknowledged: number,
    readonly required: number,
  ) {
    super(`Redis ${command} reached ${acknowledged} of ${required} replicas in time: it may be lost in a failover`)
  }
}

/** `ready()` did not see Redis answer and the bus subscription confirmed within its timeout. */
export class ReadyTimeoutError extends CacheError {
  static override readonly code = 'E_NOT_READY'
  declare readonly code: 'E_NOT_READY'
  constructor(
    readonly timeout: number,
    /** What was still missing: Redis's answer, the bus subscription, or both. */
    readonly waitingFor: readonly ('redis' | 'bus')[],
  ) {
    super(`The cache was not ready within ${timeout} ms (waiting for ${waitingFor.join(' and ')})`)
  }
}

/** The factory passed to `getOrSet` threw or rejected. `cause` holds what it threw. */
export class FactoryError extends CacheError {
  static override readonly code = 'E_FACTORY'
  declare readonly code: 'E_FACTORY'
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`Factory for key "${key}" failed: ${messageOf(cause)}`, { cause })
  }
}

/** The factory did not settle within `hardTimeout` and no stale value was available. It goes on in the background. */
export class FactoryHardTimeoutError extends CacheError {
  static override readonly code = 'E_FACTORY_HARD_TIMEOUT'
  declare readonly code: 'E_FACTORY_HARD_TIMEOUT'
  constructor(
    readonly key: string,
    readonly timeout: number,
  ) {
    super(`Factory for key "${key}" did not settle within hardTimeout (${timeout} ms)`)
  }
}

/** `incr`/`decr` on a key that holds something other than an integer counter. */
export class NotACounterError extends CacheError {
  static override readonly code = 'E_NOT_A_COUNTER'
  declare readonly code: 'E_NOT_A_COUNTER'
  constructor(
    readonly key: string,
    options?: { cause?: unknown },
  ) {
    super(`Key "${key}" does not hold an integer counter`, options)
  }
}

/** The cache was closed with `close()`. */
export class CacheClosedError extends CacheError {
  static override readonly code = 'E_CLOSED'
  declare readonly code: 'E_CLOSED'
  constructor() {
    super('The cache is closed')
  }
}

/**
 * The invalidation bus failed: a publish that did not reach Redis (it is retried), a malformed
 * message, a lost subscription.
 */
export class BusError extends CacheError {
  static override readonly code = 'E_BUS'
  declare readonly code: 'E_BUS'
}

/** Every error class, by name, for `instanceof` checks without deep imports. */
export const errors = {
  CacheError,
  ValueTooLargeError,
  EncodeError,
  DecodeError,
  L2TimeoutError,
  L2UnavailableError,
  L2CommandError,
  ReadyTimeoutError,
  FactoryError,
  FactoryHardTimeoutError,
  NotACounterError,
  CacheClosedError,
  BusError,
} as const

/** Any error the core throws or emits; `switch (error.code)` narrows it to one class. */
export type AnyCacheError =
  | ValueTooLargeError
  | EncodeError
  | DecodeError
  | L2TimeoutError
  | L2UnavailableError
  | L2CommandError
  | ReadyTimeoutError
  | FactoryError
  | FactoryHardTimeoutError
  | NotACounterError
  | CacheClosedError
  | BusError

/** The `code` of every error class of the core. */
export type CacheErrorCode = AnyCacheError['code']

/** True for the errors that mean "Redis could not be used" (as opposed to bad data or misuse). */
export function isL2Failure(error: unknown): error is L2TimeoutError | L2UnavailableError | L2CommandError {
  return error instanceof L2TimeoutError || error instanceof L2UnavailableError || error instanceof L2CommandError
}

function messageOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
