/**
 * The invalidation bus: Redis pub/sub that keeps every node's L1 coherent (ARCHITECTURE.md,
 * "The contract", points 3 to 5). It serves a {@link BusHost} (the cache's context) and is
 * installed as its `announcer`.
 *
 * - Sending: after a write reached Redis, the facade calls `keysChanged`/`prefixCleared`/
 *   `tagsInvalidated`; one compact message per namespace is PUBLISHed on the command
 *   connection. A failed publish goes to a bounded {@link PublishQueue} and is retried.
 * - Receiving: one connection of its own, PSUBSCRIBEd to `<prefix>:bus:*` (every namespace's
 *   channel, so a namespace created later needs no new subscription and has no window in which
 *   it is deaf). A message from another node drops the keys (or the tagged entries, or the whole
 *   namespace) from this node's L1 and moves their fences on, so that a read in flight does not
 *   install what it read. Malformed messages are ignored with a `bus:error` event.
 * - Outages: while the subscription is not confirmed (startup, lost connection, restarted
 *   Redis), the L1 gate refuses L1 entries installed more than `maxStaleness` ago. When the
 *   subscription is confirmed again, every L1 is dropped (whatever was missed is gone) and
 *   only then is the gate lifted.
 * - Silent losses (half-open TCP, a frozen server, a NAT dropping an idle flow) never close the
 *   connection: a PING goes out on it every `heartbeat`; one left unanswered for a whole
 *   interval counts as a loss (gate on, reconnect, resubscribe, drop L1).
 * @internal
 */
import { Redis, type RedisOptions } from 'ioredis'
import { BusError } from '../errors.js'
import type { Events } from '../observability/events.js'
import { bump, type BusStats } from '../observability/stats.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import { isClusterClient, OWNED_CLIENT_DEFAULTS, reconnectDelay, type RedisConnection } from '../redis/connection.js'
import {
  channelOf,
  channelPattern,
  decodeMessage,
  encodeMessage,
  newOrigin,
  sameOrigin,
  type MessageKind,
} from './message.js'
import { PublishQueue } from './publish_queue.js'

/**
 * What the bus needs from the cache it serves. The cache's context provides it (create_cache.ts);
 * the bus knows nothing else of the cache.
 */
export interface BusHost {
  readonly connection: RedisConnection
  /** The cache's key prefix: channels are `<prefix>:bus:<namespace>`. */
  readonly prefix: string
  readonly events: Events
  /** Installs (or, with undefined, lifts) the rule deciding which L1 entries may be served. */
  setL1Gate(gate: ((entry: MemoryEntry) => boolean) | undefined): void
  /** Applies an invalidation heard from another node to this node's L1 (and fences reads in flight). */
  invalidate(namespace: string, kind: MessageKind, items: readonly string[]): void
  /** Fences every read and fill in flight: what they read may predate an invalidation this node missed. */
  fenceAll(): void
  /**
   * Checks the L1 entries installed before `before` against Redis and drops those that changed (revalidation);
   * resolves with how many went. Rejects when Redis fails.
   */
  revalidate(before: number): Promise<number>
  /** Drops every L1 entry of every namespace (when revalidation fails); returns how many went. */
  dropAll(): number
}

export interface BusSettings {
  maxStaleness: number
  maxQueue: number
  maxRetryDelay: number
  heartbeat: number
}

/** A message ready to send: what `PUBLISH channel bytes` needs. */
export interface OutgoingMessage {
  channel: string
  bytes: Buffer
}

const FIRST_RETRY_DELAY = 50

export class Bus {
  /** Names this node on the bus: messages carrying it are its own and are ignored. */
  readonly origin = newOrigin()
  readonly #host: BusHost
  readonly #settings: BusSettings
  readonly #connection: RedisConnection
  readonly #queue: PublishQueue
  readonly #prefix: string
  readonly #pattern: string
  readonly #channelStart: number
  #sub: Redis | undefined
  /** The subscription is confirmed: invalidations are heard (L1 may still be under revalidation). */
  #listening = false
  /** Listening, and L1 revalidated: L1 is served without the outage bound. */
  #up = false
  #closed = false
  #retryTimer: NodeJS.Timeout | undefined
  #retryDelay = FIRST_RETRY_DELAY
  #heartbeatTimer: NodeJS.Timeout | undefined
  #awaitingPong = false
  /** Serves only L1 entries installed within `maxStaleness`: the rule while this node may miss invalidations. */
  readonly #deaf: (entry: MemoryEntry) => boolean
  /** Counts subscriptions confirmed and lost, so a revalidation that finishes after the next loss is ignored. */
  #generation = 0
  /** On a Cluster: which node the next subscriber connection goes to (in turn), and the pending move to it. */
  #nodeTurn = 0
  #moveAttempts = 0
  #moveTimer: NodeJS.Timeout | undefined
  readonly #firstUp: Promise<void>
  #markFirstUp!: () => void
  #published = 0
  #received = 0
  #reconnects = 0
  readonly #dropped: BusStats['dropped'] = new Map()
  #lastHeardAt: number | undefined
  #heartbeatMs: number | undefined

  constructor(host: BusHost, settings: BusSettings) {
    this.#host = host
    this.#settings = settings
    this.#connection = host.connection
    this.#queue = new PublishQueue(settings.maxQueue)
    this.#prefix = host.prefix
    this.#pattern = channelPattern(this.#prefix)
    this.#channelStart = Buffer.byteLength(channelOf(this.#prefix, ''))
    const bound = settings.maxStaleness
    this.#deaf = bound === 0 ? () => false : (entry) => Date.now() - entry.installedAt <= bound
    this.#firstUp = new Promise((resolve) => (this.#markFirstUp = resolve))
    host.setL1Gate(this.#deaf) // deaf until the first subscription is confirmed
    this.#connect()
    if (settings.heartbeat > 0) {
      this.#heartbeatTimer = setInterval(this.#beat, settings.heartbeat)
      this.#heartbeatTimer.unref()
    }
  }

  /** True while the subscription is confirmed: this node hears every invalidation. */
  get up(): boolean {
    return this.#up
  }

  /** Invalidations waiting to be retried. */
  get pending(): number {
    return this.#queue.size
  }

  /** The heartbeat interval (ms; 0 = none). */
  get heartbeat(): number {
    return this.#settings.heartbeat
  }

  /** What the bus has seen, for `health()` and metrics. */
  stats(): BusStats {
    return {
      up: this.#up,
      lastMessageAgeMs: this.#lastHeardAt === undefined ? null : Date.now() - this.#lastHeardAt,
      reconnects: this.#reconnects,
      heartbeatMs: this.#heartbeatMs ?? null,
      pending: this.#queue.size,
      published: this.#published,
      received: this.#received,
      dropped: new Map(this.#dropped),
    }
  }

  // ---------------------------------------------------------------- sending

  /**
   * The message announcing that full Redis keys `keys` (of one namespace) changed. The write sends it in
   * the same Lua call as itself, so it is acknowledged only together with its announcement.
   */
  keysMessage(keys: readonly string[]): OutgoingMessage {
    const [first, ...others] = this.#byNamespace(keys)
    if (first === undefined || others.length > 0)
      throw new TypeError(`Expected keys of one namespace under '${this.#prefix}', got ${keys.length} keys`)
    this.#published++
    return { channel: channelOf(this.#prefix, first[0]), bytes: encodeMessage('keys', this.origin, first[1]) }
  }

  /** The message announcing that entries of the namespace at `prefix` carrying one of `tags` went stale. */
  tagsMessage(prefix: string, tags: readonly string[]): OutgoingMessage {
    this.#published++
    return {
      channel: channelOf(this.#prefix, this.#namespaceOf(prefix)),
      bytes: encodeMessage('tags', this.origin, tags),
    }
  }

  /** The message announcing that every key of the namespace at `prefix` went away. */
  clearMessage(prefix: string): OutgoingMessage {
    this.#published++
    return {
      channel: channelOf(this.#prefix, this.#namespaceOf(prefix)),
      bytes: encodeMessage('clear', this.origin, []),
    }
  }

  /**
   * Announces on its own, retried until it is sent, that every key under `prefix` may have gone: for a clear
   * whose deletes may have landed although it failed before its own announcement.
   */
  prefixCleared(prefix: string): void {
    this.#publish(this.#namespaceOf(prefix), 'clear', [])
  }

  #namespaceOf(prefix: string): string {
    const namespace = this.#namespaceOfPrefix(prefix)
    if (namespace === undefined) throw new TypeError(`Expected a namespace key prefix, got '${prefix}'`)
    return namespace
  }

  #publish(namespace: string, kind: MessageKind, items: readonly string[]): void {
    if (this.#closed) return
    this.#send(channelOf(this.#prefix, namespace), encodeMessage(kind, this.origin, items)).then(
      undefined,
      (error: unknown) => {
        this.#queue.add(namespace, kind, items)
        this.#error(
          'publish',
          `PUBLISH on ${channelOf(this.#prefix, namespace)} failed (will retry): ${(error as Error).message}`,
          error,
        )
        this.#scheduleRetry()
      },
    )
  }

  /** PUBLISH through the connection (timeout, circuit breaker). */
  async #send(channel: string, bytes: Buffer): Promise<void> {
    await this.#connection.run('PUBLISH', (client) => client.publish(channel, bytes))
    this.#published++
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return
    this.#retryTimer = setTimeout(this.#retry, this.#retryDelay)
    this.#retryTimer.unref()
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#settings.maxRetryDelay)
  }

  readonly #retry = (): void => {
    this.#retryTimer = undefined
    const batches = this.#queue.drain()
    const sends = batches.map((batch) =>
      this.#send(channelOf(this.#prefix, batch.namespace), encodeMessage(batch.kind, this.origin, batch.items)).then(
        () => true,
        () => {
          this.#queue.add(batch.namespace, batch.kind, batch.items)
          return false
        },
      ),
    )
    Promise.all(sends).then(
      (results) => {
        if (results.every(Boolean) && this.#queue.size === 0) this.#retryDelay = FIRST_RETRY_DELAY
        else this.#scheduleRetry()
      },
      (error: unknown) => this.#error('publish', `retry failed: ${(error as Error).message}`, error),
    )
  }

  #byNamespace(keys: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>()
    const start = this.#prefix.length + 1
    for (const key of keys) {
      const end = key.indexOf('::', start)
      if (end < 0 || !key.startsWith(this.#prefix)) continue
      const namespace = key.slice(start, end)
      const items = out.get(namespace)
      if (items === undefined) out.set(namespace, [key.slice(end + 2)])
      else items.push(key.slice(end + 2))
    }
    return out
  }

  #namespaceOfPrefix(prefix: string): string | undefined {
    const start = this.#prefix.length + 1
    return prefix.endsWith('::') && prefix.length > start + 2 ? prefix.slice(start, -2) : undefined
  }

  // ---------------------------------------------------------------- receiving

  #connect(): void {
    if (this.#closed) return
    const client = this.#connection.client
    let sub: Redis
    if (isClusterClient(client)) {
      // A plain connection to one node: PUBLISH reaches every node of a cluster, and unlike the Cluster's own
      // subscriber, this connection's losses and returns can be seen (and so gated). Masters first, then replicas,
      // taken in turn: a lost connection is not retried on its node (which may be gone for good) but moves on to
      // the next one (see #moveOn).
      const nodes = [...client.nodes('master'), ...client.nodes('slave')]
      const node = nodes[this.#nodeTurn++ % Math.max(1, nodes.length)]
      if (node === undefined) {
        client.once('ready', () => this.#connect())
        return
      }
      const { host, port } = node.options
      sub = new Redis({
        ...(client.options.redisOptions as RedisOptions),
        host,
        port,
        ...this.#subOptions(),
        retryStrategy: () => null, // 'end' instead: #moveOn
      })
    } else {
      sub = client.duplicate(this.#subOptions())
    }
    sub.on('end', () => this.#moveOn(sub))
    this.#sub = sub
    sub.on('ready', this.#subscribe)
    sub.on('close', this.#down)
    sub.on('error', (error: Error) => this.#error('connection', `bus subscriber connection: ${error.message}`, error))
    sub.on('pmessageBuffer', this.#receive)
  }

  /**
   * The subscriber connection ended (it does not retry): a new one, soon (after 25 ms, 50 ms, … up to 250 ms while
   * they keep ending). On a Cluster it goes to the next node: retrying the same node would leave this node deaf for
   * as long as that node is gone, possibly for good. Elsewhere only ioredis's Sentinel failover detector ends a
   * subscriber this way (see RedisConnection), and a fresh duplicate asks the sentinels again.
   */
  #moveOn(sub: Redis): void {
    if (this.#closed || sub !== this.#sub) return
    this.#sub = undefined
    clearTimeout(this.#moveTimer)
    this.#moveTimer = setTimeout(() => {
      this.#moveTimer = undefined
      this.#connect()
    }, reconnectDelay(++this.#moveAttempts))
    this.#moveTimer.unref()
  }

  #subOptions(): RedisOptions {
    return {
      autoResubscribe: false, // resubscribed by #subscribe, which then drops L1 before lifting the gate
      lazyConnect: false,
      connectionName: `tiercache-bus-${this.origin.toString('hex')}`,
      maxRetriesPerRequest: null,
      retryStrategy: reconnectDelay, // ours, whatever the client it duplicates uses: deaf costs misses everywhere
      disconnectTimeout: OWNED_CLIENT_DEFAULTS.disconnectTimeout,
    }
  }

  readonly #subscribe = (): void => {
    const sub = this.#sub
    if (sub === undefined || this.#closed) return
    sub.psubscribe(this.#pattern).then(
      () => this.#confirm(sub),
      (error: unknown) =>
        this.#error('subscribe', `PSUBSCRIBE ${this.#pattern} failed: ${(error as Error).message}`, error),
    )
  }

  /**
   * Resolves once the first subscription is confirmed (and L1 revalidated), or after `ms`, whichever comes first.
   * Operations that need the bus wait for it at startup, as ioredis queues commands until it is connected.
   */
  firstUp(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    // Not unref'd: a process that is waiting for its first answer stays alive for this long at most.
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
    return Promise.race([this.#firstUp, bound]).finally(() => clearTimeout(timer))
  }

  /**
   * The subscription is live: from now on every invalidation is heard. Reads and fills in flight are fenced (they
   * may carry what was missed); L1 entries installed before now are served only within `maxStaleness` until they
   * are revalidated against Redis (dropping what changed), then the gate is lifted.
   */
  #confirm(sub: Redis): void {
    if (this.#closed || sub !== this.#sub || sub.status !== 'ready') return
    this.#moveAttempts = 0
    const host = this.#host
    host.fenceAll()
    this.#listening = true
    const generation = ++this.#generation
    const since = Date.now()
    const deaf = this.#deaf
    host.setL1Gate((entry) => entry.installedAt >= since || deaf(entry))
    const finish = (dropped: number): void => {
      if (generation !== this.#generation || this.#closed) return
      this.#up = true
      host.setL1Gate(undefined)
      host.events.emit('bus:state', { state: 'up', dropped })
      this.#markFirstUp()
    }
    host.revalidate(since).then(finish, (error: unknown) => {
      this.#error('connection', `revalidation failed, dropping L1 instead: ${(error as Error).message}`, error)
      if (generation === this.#generation) finish(host.dropAll())
    })
  }

  readonly #beat = (): void => {
    const sub = this.#sub
    if (sub === undefined || !this.#listening || this.#closed) {
      this.#awaitingPong = false
      return
    }
    if (this.#awaitingPong) {
      this.#awaitingPong = false
      this.#error(
        'connection',
        `bus subscriber did not answer a PING within ${this.#settings.heartbeat} ms: reconnecting`,
        undefined,
      )
      this.#down()
      sub.disconnect(true) // 'ready' again later: resubscribe, drop L1, lift the gate
      return
    }
    this.#awaitingPong = true
    const sent = performance.now()
    sub.ping().then(
      () => {
        if (sub !== this.#sub) return
        this.#awaitingPong = false
        this.#heartbeatMs = performance.now() - sent
        this.#lastHeardAt = Date.now()
      },
      () => undefined, // the connection is gone: 'close' already reported it
    )
  }

  readonly #down = (): void => {
    if (!this.#listening || this.#closed) return
    this.#listening = false
    this.#up = false
    this.#reconnects++
    this.#generation++
    this.#host.setL1Gate(this.#deaf)
    this.#host.events.emit('bus:state', { state: 'down', dropped: 0 })
  }

  readonly #receive = (_pattern: string, channel: Buffer, raw: Buffer): void => {
    this.#lastHeardAt = Date.now()
    let message
    try {
      message = decodeMessage(raw)
    } catch (error) {
      bump(this.#dropped, 'malformed')
      this.#error('receive', `ignored a malformed message on ${channel.toString()}: ${(error as Error).message}`, error)
      return
    }
    if (sameOrigin(message, this.origin)) return
    const namespace = channel.toString('utf8', this.#channelStart) // after '<prefix>:bus:'
    this.#received++
    this.#host.invalidate(namespace, message.kind, message.items)
    this.#host.events.emit('bus:message', { namespace, kind: message.kind, items: message.items })
  }

  #error(operation: 'publish' | 'receive' | 'subscribe' | 'connection', message: string, cause: unknown): void {
    if (this.#closed && operation !== 'publish') return
    this.#host.events.emit('bus:error', { operation, error: new BusError(message, { cause }) })
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closed) return
    const lost = this.#queue.size
    if (lost > 0) {
      this.#dropped.set('closed', (this.#dropped.get('closed') ?? 0) + lost)
      this.#error('publish', `closed with ${lost} invalidations not yet published`, undefined)
    }
    this.#closed = true
    this.#markFirstUp() // nobody waits for a subscription that will never come
    clearTimeout(this.#retryTimer)
    clearTimeout(this.#moveTimer)
    clearInterval(this.#heartbeatTimer)
    this.#host.setL1Gate(undefined)
    const sub = this.#sub
    this.#sub = undefined
    if (sub === undefined) return
    // A connected subscriber says goodbye (bounded); one still trying to connect stops at once, not after its timer.
    if (sub.status === 'ready')
      await Promise.race([
        sub.quit().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ])
    sub.disconnect()
  }
}
