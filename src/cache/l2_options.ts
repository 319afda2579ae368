/**
 * The `l2` options of `createCache` (TSDoc with defaults) and their resolution, kept apart from options.ts.
 * @internal
 */
import { describe } from '../internal/describe.js'
import { parseDuration, type Duration } from '../internal/duration.js'
import { checkKnownOptions } from '../internal/known_options.js'
import {
  isClusterClient,
  isRedisClient,
  resolveClient,
  type RedisClient,
  type RedisInput,
} from '../redis/connection.js'
import { DEFAULTS } from './defaults.js'
import { plainObject, positiveInteger } from './option_checks.js'

/** What `set`/`delete`/`clear` do when Redis fails. */
export type WriteErrorPolicy = 'throw' | 'local'

/** L2 (Redis) settings. */
export interface L2Options {
  /**
   * Per-command timeout. A command that takes longer fails with `L2TimeoutError`; reads treat it as a miss.
   * @default 500 (ms)
   */
  timeout?: Duration
  /**
   * When a write cannot reach Redis:
   * - `'throw'`: `set`, `setMany`, `delete`, `deleteMany`, `expire` and `clear` reject with the L2 error, and
   *   this node drops the key from its L1 (Redis' state is unknown, so L1 must not keep answering for it).
   * - `'local'`: the write resolves after updating L1 only, kept for at most `localTtl`, and emits
   *   `write:degraded`. Other nodes do not see it.
   * `getOrSet` always returns the factory's value; if writing it to Redis fails, it is kept in L1 for at most
   * `localTtl` (so an outage does not send every request to the factory) and `write:degraded` is emitted.
   * @default 'throw'
   */
  onWriteError?: WriteErrorPolicy
  /**
   * How long a value that reached L1 but not Redis may be served from L1.
   * @default '5s'
   */
  localTtl?: Duration
  /**
   * Where `get`, `getMany` and the hits of `getOrSet` read L2 entries: a replica of the `redis` primary, as a
   * `redis://` URL, an ioredis client of yours, or ioredis options (Sentinel: `{ sentinels, name, role: 'slave' }`;
   * Cluster: a `Cluster` with `scaleReads: 'slave'`). Leases, locks, counters, writes and revalidation stay on the
   * primary. After this node hears an invalidation of a key (or of a tag or `clear` of its namespace, or while
   * its bus is down and for `replicaLag` after it is back), reads of it go to the primary for `replicaLag`, so
   * an L1 refill never installs what a lagging replica still holds (README, "Reads from replicas").
   * @default undefined (every read goes to the primary)
   */
  replicas?: RedisInput
  /**
   * With `replicas`: how long after an invalidation reads of the key stay on the primary. Coherent as long as
   * the replica applies a write within this time of the primary acknowledging it; a replica further behind
   * (overloaded, its link down) can still have an old value installed in L1 (for at most its L1 TTL).
   * @default '1s'
   */
  replicaLag?: Duration
  /**
   * Writes count only once this many replicas have them: each write's Lua call is followed, on the same connection
   * and in the same round trip, by `WAIT minReplicas replicaTimeout`. A write fewer replicas acknowledged in time
   * fails with `L2NotReplicatedError` (`E_L2_NOT_REPLICATED`) through the usual path (`l2:error`, then
   * `onWriteError`): it landed on the primary and was announced, but a failover may lose it. With Sentinel this
   * turns the writes a demoted primary acknowledges before `+switch-master` into errors (README, "Sentinel").
   * Not on a Cluster. `clear` is not covered. Redis's own `min-replicas-to-write` is the server-side alternative.
   * @default undefined (writes do not wait for replicas)
   */
  minReplicas?: number
  /**
   * With `minReplicas`: how long a write waits for its replicas (added to each write's time when they are slow).
   * @default '50ms'
   */
  replicaTimeout?: Duration
  /** Circuit breaker in front of Redis. */
  breaker?: {
    /**
     * Consecutive failures (timeouts, connection errors) that open the circuit; while open, commands fail at
     * once with `L2UnavailableError` instead of waiting for the timeout.
     * @default 5
     */
    threshold?: number
    /**
     * How long the circuit stays open before commands are tried again.
     * @default '1s'
     */
    cooldown?: Duration
  }
}

/** The `l2` options after defaults and validation. @internal */
export interface ResolvedL2 {
  client: RedisClient
  owned: boolean
  timeout: number
  onWriteError: WriteErrorPolicy
  localTtl: number
  breakerThreshold: number
  breakerCooldown: number
  /** The replica client L2 hits are read from (`l2.replicas`), or undefined: every read on the primary. */
  replicas: { client: RedisClient; owned: boolean; lag: number } | undefined
  /** `l2.minReplicas` and `l2.replicaTimeout` (ms), or undefined: writes do not wait for replicas. */
  ack: { replicas: number; timeout: number } | undefined
}

const KNOWN = {
  l2: ['timeout', 'onWriteError', 'localTtl', 'breaker', 'replicas', 'replicaLag', 'minReplicas', 'replicaTimeout'],
  breaker: ['threshold', 'cooldown'],
} as const

/** Validates `l2` (given `redis`) and opens the clients it names. @throws TypeError naming a bad value. */
export function resolveL2(redis: RedisInput, input: L2Options | undefined): ResolvedL2 {
  const l2Input = input === undefined ? {} : (plainObject(input, 'l2') as L2Options)
  const onWriteError = l2Input.onWriteError ?? DEFAULTS.l2.onWriteError
  if (onWriteError !== 'throw' && onWriteError !== 'local')
    throw new TypeError(`Expected \`l2.onWriteError\` to be 'throw' or 'local', got ${describe(onWriteError)}`)
  checkKnownOptions(l2Input, KNOWN.l2, 'l2.')
  const breaker = l2Input.breaker === undefined ? {} : plainObject(l2Input.breaker, 'l2.breaker')
  checkKnownOptions(breaker, KNOWN.breaker, 'l2.breaker.')
  const timeout = parseDuration(l2Input.timeout ?? DEFAULTS.l2.timeout, 'l2.timeout', true)
  const localTtl = parseDuration(l2Input.localTtl ?? DEFAULTS.l2.localTtl, 'l2.localTtl')
  const breakerThreshold = positiveInteger(
    breaker.threshold,
    'l2.breaker.threshold',
    DEFAULTS.l2.breaker.threshold,
  ) as number
  const breakerCooldown = parseDuration(breaker.cooldown ?? DEFAULTS.l2.breaker.cooldown, 'l2.breaker.cooldown')
  if (l2Input.replicaLag !== undefined && l2Input.replicas === undefined)
    throw new TypeError('`l2.replicaLag` was given without `l2.replicas`: pass the replica to read from')
  const lag = parseDuration(l2Input.replicaLag ?? DEFAULTS.l2.replicaLag, 'l2.replicaLag')
  const minReplicas = positiveInteger(l2Input.minReplicas, 'l2.minReplicas', undefined)
  if (l2Input.replicaTimeout !== undefined && minReplicas === undefined)
    throw new TypeError('`l2.replicaTimeout` was given without `l2.minReplicas`: pass how many replicas to wait for')
  const replicaTimeout = parseDuration(l2Input.replicaTimeout ?? DEFAULTS.l2.replicaTimeout, 'l2.replicaTimeout')
  if (minReplicas !== undefined && isRedisClient(redis) && isClusterClient(redis))
    throw new TypeError('`l2.minReplicas` is not supported on a Cluster (WAIT would reach a random node)')
  const main = resolveClient(redis)
  let replicas: ReturnType<typeof resolveClient> | undefined
  try {
    replicas = l2Input.replicas === undefined ? undefined : resolveClient(l2Input.replicas, 'l2.replicas')
  } catch (error) {
    if (main.owned) main.client.disconnect() // nobody else would close it
    throw error
  }
  return {
    ...main,
    timeout,
    onWriteError,
    localTtl,
    breakerThreshold,
    breakerCooldown,
    replicas: replicas === undefined ? undefined : { ...replicas, lag },
    ack: minReplicas === undefined ? undefined : { replicas: minReplicas, timeout: replicaTimeout },
  }
}
