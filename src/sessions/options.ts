/**
 * The options of `createSessionStore`, with their TSDoc (every `@default` is a value of
 * {@link SESSION_DEFAULTS}), validated once into {@link ResolvedSessionOptions}.
 */
import { DEFAULTS, msgpackCodec, jsonCodec, type Codec, type Duration, type RedisInput } from '../index.js'
import { connectionSettings, describe, parseDuration, type ConnectionSettings } from '../seam.js'

/** Every default of the session store, in the form users write them. */
export const SESSION_DEFAULTS = Object.freeze({
  prefix: 'tc:sess',
  /** `touchAfter` is this fraction of `idleTimeout` unless given. */
  touchAfterFraction: 0.1,
  maxBytes: DEFAULTS.maxValueBytes,
  timeout: DEFAULTS.l2.timeout,
  userField: 'userId',
} as const)

/**
 * What the durable fallback stores for one session: its fields and the metadata that decides whether it is still
 * alive. Keep the highest `version` you have seen for an id: two servers may save one session concurrently, and
 * their saves can reach you out of order.
 */
export interface DurableSessionRecord {
  data: Record<string, unknown>
  /** The user the session is indexed under, if any. */
  userId: string | undefined
  /** The session's entry in its user's index (see `listForUser`). */
  ref: string | undefined
  createdAt: number
  lastActiveAt: number
  /** When the session expires unless there is activity (ms since the epoch). */
  expiresAt: number
  /** When the session expires whatever happens (`createdAt + absoluteTimeout`). */
  absoluteExpiresAt: number
  /** Grows with every change; a save with a lower version than one you stored is stale. */
  version: number
}

/**
 * A durable copy of every session (a SQL table, a document store), like Django's `cached_db`: written through on
 * every change, read when Redis has no copy (evicted, flushed, a failover that lost writes). The `id` is the raw
 * session id: store a hash of it if your database is less private than your cookies.
 */
export interface DurableSessionStore {
  load(id: string): Promise<DurableSessionRecord | undefined | null>
  save(id: string, record: DurableSessionRecord): Promise<void>
  destroy(id: string): Promise<void>
}

export interface SessionStoreOptions {
  /** Redis: a `redis://` URL, an ioredis `Redis` or `Cluster` instance (left open by `close()`), or ioredis options. */
  redis: RedisInput
  /**
   * Start of every Redis key the store writes (`<prefix>:s:{…}` for sessions, `<prefix>:u:{…}` for user indexes).
   * Servers sharing sessions must use the same prefix, `secret` and codec.
   * @default 'tc:sess'
   */
  prefix?: string
  /** A session with no activity (`update`, `touch`) for this long expires. `'30m'` or milliseconds. */
  idleTimeout: Duration
  /** A session expires this long after it was created, whatever its activity. `regenerate` keeps the deadline. */
  absoluteTimeout: Duration
  /**
   * A `touch` within this long of the last activity writes nothing (express-session touches on every request).
   * `0` touches every time. Must be less than `idleTimeout`.
   * @default a tenth of `idleTimeout`
   */
  touchAfter?: Duration
  /**
   * Most bytes a session may hold, counted over its encoded fields (names plus encoded values). A change that
   * would exceed it fails with `SessionTooLargeError` (`E_SESSION_TOO_LARGE`) and writes nothing.
   * @default 1_048_576 (1 MiB)
   */
  maxBytes?: number
  /**
   * Keys are the SHA-256 of the session id; with a secret, an HMAC-SHA-256 keyed by it, so that someone who reads
   * Redis cannot even test a guessed id.
   * @default none (SHA-256)
   */
  secret?: string | Buffer
  /**
   * How field values are encoded: `'msgpack'` (Date, Map, Set, BigInt, Buffer round-trip), `'json'`, or a codec.
   * @default 'msgpack'
   */
  codec?: 'msgpack' | 'json' | Codec
  /** Optional durable copy, written through and read when Redis has none. */
  durable?: DurableSessionStore
  /**
   * Per-command timeout: an operation that gets no answer in time rejects with `L2TimeoutError`.
   * @default 500 (ms)
   */
  timeout?: Duration
  /** Circuit breaker in front of Redis (the same as the cache's `l2.breaker`). */
  breaker?: {
    /** @default 5 */
    threshold?: number
    /** @default '1s' */
    cooldown?: Duration
  }
  /** @internal A clock for tests (ms since the epoch). */
  now?: () => number
}

export interface ResolvedSessionOptions {
  redis: RedisInput
  prefix: string
  idleTimeout: number
  absoluteTimeout: number
  touchAfter: number
  maxBytes: number
  secret: Buffer | undefined
  codec: Codec
  durable: DurableSessionStore | undefined
  connection: ConnectionSettings
  now: () => number
}

/** @throws TypeError naming the option when a value is invalid. */
export function resolveSessionOptions(options: SessionStoreOptions): ResolvedSessionOptions {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected session store options to be an object, got ${describe(options)}`)
  if (options.redis === undefined || options.redis === null)
    throw new TypeError(
      `Expected \`redis\` to be a redis:// URL, an ioredis client or ioredis options, got ${describe(options.redis)}`,
    )
  const prefix = options.prefix ?? SESSION_DEFAULTS.prefix
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}\s]/.test(prefix))
    throw new TypeError(
      `Expected \`prefix\` to be a non-empty string without spaces or braces, got ${describe(prefix)}`,
    )
  const idleTimeout = parseDuration(options.idleTimeout, 'idleTimeout')
  const absoluteTimeout = parseDuration(options.absoluteTimeout, 'absoluteTimeout')
  const touchAfter =
    options.touchAfter === undefined
      ? Math.floor(idleTimeout * SESSION_DEFAULTS.touchAfterFraction)
      : parseDuration(options.touchAfter, 'touchAfter', true)
  if (touchAfter >= idleTimeout)
    throw new TypeError(
      `Expected \`touchAfter\` to be less than \`idleTimeout\` (${idleTimeout} ms), got ${describe(options.touchAfter)}`,
    )
  const maxBytes = options.maxBytes ?? SESSION_DEFAULTS.maxBytes
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new TypeError(`Expected \`maxBytes\` to be a whole number from 1 and up, got ${describe(maxBytes)}`)
  return {
    redis: options.redis,
    prefix,
    idleTimeout,
    absoluteTimeout,
    touchAfter,
    maxBytes,
    secret: resolveSecret(options.secret),
    codec: resolveCodec(options.codec),
    durable: resolveDurable(options.durable),
    connection: connectionSettings({ timeout: options.timeout ?? SESSION_DEFAULTS.timeout, breaker: options.breaker }),
    now: options.now ?? Date.now,
  }
}

function resolveSecret(secret: unknown): Buffer | undefined {
  if (secret === undefined) return undefined
  if (typeof secret === 'string' && secret.length > 0) return Buffer.from(secret, 'utf8')
  if (Buffer.isBuffer(secret) && secret.length > 0) return secret
  // Never echo a secret back: describe only its type.
  throw new TypeError(
    `Expected \`secret\` to be a non-empty string or Buffer, got a ${secret === null ? 'null' : typeof secret}`,
  )
}

function resolveCodec(codec: unknown): Codec {
  if (codec === undefined || codec === 'msgpack') return msgpackCodec()
  if (codec === 'json') return jsonCodec()
  if (
    typeof codec === 'object' &&
    codec !== null &&
    typeof (codec as Codec).encode === 'function' &&
    typeof (codec as Codec).decode === 'function'
  )
    return codec as Codec
  throw new TypeError(
    `Expected \`codec\` to be 'msgpack', 'json' or an object with encode and decode, got ${describe(codec)}`,
  )
}

function resolveDurable(durable: unknown): DurableSessionStore | undefined {
  if (durable === undefined) return undefined
  const d = durable as DurableSessionStore
  if (
    typeof durable !== 'object' ||
    durable === null ||
    typeof d.load !== 'function' ||
    typeof d.save !== 'function' ||
    typeof d.destroy !== 'function'
  )
    throw new TypeError(`Expected \`durable\` to be an object with load, save and destroy, got ${describe(durable)}`)
  return d
}
