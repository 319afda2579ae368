/**
 * One Redis connection as tiercache uses it: every command goes through {@link RedisConnection.run},
 * which applies the command timeout, feeds the circuit breaker and maps failures to coded errors
 * (`L2TimeoutError`, `L2UnavailableError`, `L2CommandError`). The cache's L2 tier, the bus, locks and
 * every subsystem (sessions, warming, …) talk to Redis this way, so a Redis that is down or slow is
 * seen and reported the same way everywhere. See ARCHITECTURE.md, "The seam".
 * @internal
 */
import { createHash } from 'node:crypto'
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import { CacheClosedError, L2CommandError, L2TimeoutError, L2UnavailableError } from '../errors.js'
import { DeadlineQueue } from './deadlines.js'
import { describe } from '../internal/describe.js'
import { CircuitBreaker, type CircuitState } from './circuit_breaker.js'
import { redisCommandChannel, type RedisCommandMessage } from '../observability/tracing.js'

/** An ioredis client: a single `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster

/** What `redis` options accept everywhere: a URL, a client of yours, or ioredis options for a client tiercache owns. */
export type RedisInput = string | RedisClient | RedisOptions

export interface ConnectionSettings {
  /** Per-command timeout in ms; 0 for none. */
  timeout: number
  /** Consecutive failures that open the circuit. */
  breakerThreshold: number
  /** How long the circuit stays open (ms). */
  breakerCooldown: number
}

export interface ConnectionHooks {
  /** The circuit changed state. */
  onCircuit?: (state: CircuitState) => void
  /** The client reported a connection error (ioredis emits one per failed attempt). */
  onError?: (error: L2CommandError) => void
}

/** A Lua script, run with EVALSHA (EVAL once per server that does not know it yet). */
export class Script {
  readonly sha: string

  constructor(
    /** Shown in errors and timeouts: `Redis <name> did not answer within …`. */
    readonly name: string,
    readonly lua: string,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex')
  }
}

type ScriptArgument = string | Buffer | number

/** A Lua string that UTF-8 decoding would change: returned intact only where Lua replies are binary-safe. */
const PROBE = new Script('EVAL (binary-safe replies?)', 'return string.char(255, 0, 128, 195, 40)')
const PROBE_BYTES = Buffer.from([0xff, 0x00, 0x80, 0xc3, 0x28])

/**
 * True for an ioredis client, or something shaped like one (ioredis-mock). Duck-typed so that a client
 * from another copy of ioredis (a v5 and a v6 side by side) is recognised.
 */
export function isRedisClient(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Redis).getBuffer === 'function' &&
    typeof (value as Redis).duplicate === 'function'
  )
}

/** True for an ioredis `Cluster`, from whichever copy of ioredis (no `instanceof`). */
export function isClusterClient(client: RedisClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true
}

export class RedisConnection {
  readonly client: RedisClient
  /** True when tiercache created the client (and so closes it); false for a client passed in. */
  readonly owned: boolean
  readonly isCluster: boolean
  readonly settings: ConnectionSettings
  readonly #breaker: CircuitBreaker
  readonly #onError: ((error: unknown) => void) | undefined
  #closed = false
  #binarySafe: Promise<boolean> | undefined
  /** Commands under the timeout. */
  readonly #deadlines: DeadlineQueue

  constructor(client: RedisClient, owned: boolean, settings: ConnectionSettings, hooks: ConnectionHooks = {}) {
    this.client = client
    this.owned = owned
    this.isCluster = isClusterClient(client)
    this.settings = settings
    this.#breaker = new CircuitBreaker({
      threshold: settings.breakerThreshold,
      cooldown: settings.breakerCooldown,
      onChange: hooks.onCircuit ?? (() => undefined),
    })
    this.#deadlines = new DeadlineQueue(
      settings.timeout,
      (deadline) => new L2TimeoutError(deadline.command, settings.timeout),
      () => this.#breaker.failure(),
    )
    // A connection that is ready again answers: close the circuit now rather than after its cooldown.
    client.on('ready', this.#onReady)
    // ioredis emits 'error' on every failed connection attempt; without a listener it prints them.
    const onError = hooks.onError
    if (onError !== undefined) {
      this.#onError = (error: unknown) => onError(wrapError('connection', error))
      client.on('error', this.#onError)
    }
    // A Sentinel client ends for good when its failover detector closes it while it is asking the sentinels where
    // the primary is (ioredis: "Connection is closed", status 'end'), which a kill -9 of the primary can bring about.
    // One tiercache owns is connected again instead (only close() ends it).
    if (owned && Array.isArray((client as Redis).options?.sentinels)) client.on('end', this.#onEnd)
  }

  get circuit(): CircuitState {
    return this.#breaker.state
  }

  /**
   * Sends one command (or pipeline, or script) with the timeout, the circuit breaker and error mapping.
   * Rejects with `L2UnavailableError` without calling `send` while the circuit is open, `L2TimeoutError`
   * when no answer comes within the timeout (the command may still land), `L2CommandError` otherwise.
   * @param command the name shown in errors (`'GET'`, `'session update'`).
   */
  run<T>(command: string, send: (client: RedisClient) => Promise<T>): Promise<T> {
    if (!this.#breaker.allow()) return Promise.reject(new L2UnavailableError(command))
    let sent: Promise<T>
    try {
      sent = send(this.client)
    } catch (error) {
      return Promise.reject(wrapError(command, error))
    }
    const timed = this.#timed(command, sent)
    return redisCommandChannel.hasSubscribers ? this.#observed(command, timed) : timed
  }

  /** Publishes the command's duration on `tiercache:redis:command` once it settled (only with a subscriber). */
  #observed<T>(command: string, timed: Promise<T>): Promise<T> {
    const started = performance.now()
    const settled = (ok: boolean): void => {
      const message: RedisCommandMessage = { connection: this, command, durationMs: performance.now() - started, ok }
      redisCommandChannel.publish(message)
    }
    timed.then(
      () => settled(true),
      () => settled(false),
    )
    return timed
  }

  /** Runs a Lua script through {@link run}: EVALSHA, and EVAL when the server does not have it yet. */
  eval<T>(script: Script, keys: readonly string[], args: readonly ScriptArgument[] = []): Promise<T> {
    return this.run(script.name, (client) => evalScript<T>(client, script, keys, args, false))
  }

  /**
   * {@link eval} with `WAIT replicas timeout` sent right behind it on the same connection (one round trip): resolves
   * with the reply and how many replicas acknowledged the write (`l2.minReplicas`; not on a Cluster). A script sent
   * again in full (NOSCRIPT: a new primary) ran after that WAIT, and waits again.
   */
  evalWaited<T>(
    script: Script,
    keys: readonly string[],
    args: readonly ScriptArgument[],
    ack: { replicas: number; timeout: number },
  ) {
    return this.run(script.name, async (client) => {
      const resent = { value: false }
      const replied = evalScript<T>(client, script, keys, args, false, resent)
      const waited = (client as Redis).wait(ack.replicas, ack.timeout)
      const [reply, acked] = await Promise.all([replied, waited])
      return { reply, acked: resent.value ? await (client as Redis).wait(ack.replicas, ack.timeout) : acked }
    })
  }

  /** {@link eval} with bulk replies as Buffers. */
  evalBuffer<T>(script: Script, keys: readonly string[], args: readonly ScriptArgument[] = []): Promise<T> {
    return this.run(script.name, (client) => evalScript<T>(client, script, keys, args, true))
  }

  /**
   * Whether Lua replies carry binary strings intact on this server (Redis: yes; ioredis-mock decodes them as
   * UTF-8). Asked once, with one EVAL, the first time it matters; false when the question fails.
   */
  binarySafeScripts(): Promise<boolean> {
    this.#binarySafe ??= this.evalBuffer<Buffer>(PROBE, []).then(
      (reply) => Buffer.isBuffer(reply) && reply.equals(PROBE_BYTES),
      () => false,
    )
    return this.#binarySafe
  }

  /**
   * The clients to send per-server commands to (SCAN, FLUSH, INFO): every master of a Cluster, or the client
   * itself.
   */
  masters(): Redis[] {
    return this.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis]
  }

  /**
   * Every key matching a SCAN `pattern`, in batches, on every master (never KEYS). Each SCAN goes
   * through {@link run}. A batch may hold keys of several hash slots on a Cluster: send per-key commands.
   */
  async *scan(pattern: string, count = 1000): AsyncGenerator<{ node: Redis; keys: string[] }> {
    for (const node of this.masters()) {
      let cursor = '0'
      do {
        const [next, keys] = await this.run('SCAN', () => node.scan(cursor, 'MATCH', pattern, 'COUNT', count))
        cursor = next
        if (keys.length > 0) yield { node, keys }
      } while (cursor !== '0')
    }
  }

  /** Round trip to Redis (PING), resolving with the latency in ms. Ignores the circuit. */
  async ping(): Promise<number> {
    const started = performance.now()
    await this.#timed('PING', this.client.ping())
    return performance.now() - started
  }

  /** Closes the client if tiercache created it (at once when it is not connected); leaves yours open. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Nothing waits on a closed connection: what is still pending fails now rather than whenever (or never).
    this.#deadlines.close(() => new CacheClosedError())
    const client = this.client
    if (this.owned) {
      if ((client as Redis).status === 'ready') {
        await Promise.race([
          client.quit().catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, 1000).unref()),
        ])
      }
      client.disconnect()
    }
    if (this.#onError !== undefined) client.off('error', this.#onError)
    client.off('ready', this.#onReady)
    client.off('end', this.#onEnd)
  }

  readonly #onReady = (): void => {
    this.#breaker.success()
  }

  readonly #onEnd = (): void => {
    setTimeout(() => {
      if (!this.#closed) (this.client as Redis).connect().catch(() => undefined) // failures: 'error', then 'end'
    }, reconnectDelay(1)).unref()
  }

  /** Applies the timeout (see DeadlineQueue), maps errors to coded errors and feeds the circuit breaker. */
  #timed<T>(command: string, promise: Promise<T>): Promise<T> {
    const timeout = this.settings.timeout
    return new Promise<T>((resolve, reject) => {
      const watch = timeout > 0 ? this.#deadlines.watch(command, reject) : undefined
      promise.then(
        (value) => {
          if (watch !== undefined && !this.#deadlines.settle(watch)) return
          this.#breaker.success()
          resolve(value)
        },
        (error: unknown) => {
          if (watch !== undefined && !this.#deadlines.settle(watch)) return
          // A reply error means Redis is up and answered: not a reason to open the circuit.
          if (isReplyError(error)) this.#breaker.success()
          else this.#breaker.failure()
          reject(wrapError(command, error))
        },
      )
    })
  }
}

/** A Redis error reply (`ERR …`, `WRONGTYPE …`), from whichever copy of ioredis: Redis answered. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError'
}

/** Wraps what a client threw in an `L2CommandError` naming the command (coded errors pass through). */
export function wrapError(command: string, error: unknown): L2CommandError {
  if (error instanceof L2CommandError) return error
  return new L2CommandError(command, error)
}

/** The Buffer-reply variants ioredis generates for every command (not in its type declarations). */
interface BufferEval {
  evalBuffer(script: string, numberOfKeys: number, ...args: ScriptArgument[]): Promise<unknown>
  evalshaBuffer(sha: string, numberOfKeys: number, ...args: ScriptArgument[]): Promise<unknown>
}

/**
 * Scripts this process has sent in full (EVAL) per client: the server has cached them since, so later calls send
 * only the SHA. A server that lost its script cache (restart, SCRIPT FLUSH, another Cluster node) answers NOSCRIPT
 * and gets the full script again. Sending EVAL first also means a call made just before `close()` needs no second
 * command after QUIT.
 */
const loaded = new WeakMap<RedisClient, Set<string>>()

async function evalScript<T>(
  client: RedisClient,
  script: Script,
  keys: readonly string[],
  args: readonly ScriptArgument[],
  buffers: boolean,
  resent?: { value: boolean },
): Promise<T> {
  const all = [...keys, ...args]
  const buffered = client as unknown as BufferEval
  let known = loaded.get(client)
  if (known === undefined) loaded.set(client, (known = new Set()))
  if (known.has(script.sha)) {
    try {
      return (await (buffers
        ? buffered.evalshaBuffer(script.sha, keys.length, ...all)
        : client.evalsha(script.sha, keys.length, ...all))) as T
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      if (resent !== undefined) resent.value = true
    }
  }
  const result = (await (buffers
    ? buffered.evalBuffer(script.lua, keys.length, ...all)
    : client.eval(script.lua, keys.length, ...all))) as T
  known.add(script.sha)
  return result
}

/**
 * The client for a `redis` option: a client you passed in (left open by `close()`), or one tiercache
 * creates from a URL or ioredis options (and closes).
 * @throws TypeError naming `name` when the value is none of those.
 */
export function resolveClient(value: unknown, name = 'redis'): { client: RedisClient; owned: boolean } {
  if (typeof value === 'string') {
    if (!/^rediss?:\/\//.test(value))
      throw new TypeError(
        `Expected \`${name}\` to be a redis:// or rediss:// URL, got ${describe(value)}` +
          (/^[\w.-]+:\d+$/.test(value) ? `: did you mean "redis://${value}"?` : ''),
      )
    return { client: new Redis(value, { ...OWNED_CLIENT_DEFAULTS }), owned: true }
  }
  if (isRedisClient(value)) return { client: value, owned: false }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(
      `Expected \`${name}\` to be a redis:// URL, an ioredis Redis or Cluster instance, or ioredis options, ` +
        `got ${describe(value)}` +
        (typeof value === 'number' ? `: for a port, use "redis://127.0.0.1:${value}" or \`{ port: ${value} }\`` : ''),
    )
  const options = value as RedisOptions
  // Through Sentinel: switch to the new primary as soon as a sentinel announces it (`+switch-master`), not when the
  // old one is demoted seconds later (every write acknowledged by it in between would be lost).
  const sentinel = Array.isArray(options.sentinels) && SENTINEL_CLIENT_DEFAULTS
  return { client: new Redis({ ...OWNED_CLIENT_DEFAULTS, ...sentinel, ...options }), owned: true }
}

/**
 * How soon tiercache's own connections try again after losing Redis: 25 ms, 50 ms, … then every 250 ms (ioredis's
 * default backs off to 2 s, which after a restart kept writes and the bus away for up to that long). A connection
 * attempt to a Redis that is down costs next to nothing; one that comes late costs a second of misses.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(25 * attempt, 250)
}

/**
 * ioredis settings of the connections tiercache creates (clients from a URL or options, the bus subscriber, the
 * lock waiters' subscriber): quick reconnects, a command failing after 2 reconnection attempts instead of 20, and
 * `close()` that ends a connection which never came up at once (ioredis otherwise keeps a 2 s timer for it,
 * holding the process open).
 */
export const OWNED_CLIENT_DEFAULTS = Object.freeze({
  maxRetriesPerRequest: 2,
  retryStrategy: reconnectDelay,
  disconnectTimeout: 50,
} satisfies RedisOptions)

/**
 * ioredis settings added to the clients tiercache creates from options with `sentinels` (and so to the bus
 * subscriber duplicated from them): `failoverDetector` subscribes to the sentinels' `+switch-master` and reconnects
 * to the new primary the moment it is named.
 */
export const SENTINEL_CLIENT_DEFAULTS = Object.freeze({ failoverDetector: true } satisfies RedisOptions)

/** Opens (or adopts) a client and wraps it in a {@link RedisConnection}. */
export function openRedis(
  value: RedisInput,
  settings: ConnectionSettings,
  hooks?: ConnectionHooks,
  name = 'redis',
): RedisConnection {
  const { client, owned } = resolveClient(value, name)
  return new RedisConnection(client, owned, settings, hooks)
}
