/**
 * The invalidation bus: Redis pub/sub that keeps every node's L1 coherent (ARCHITECTURE.md,
 * "The contract", points 3 to 5). It serves a {@link BusHost} (the cache's context) and is
 * installed as its `announcer`.
 *
 * - Sending: after a write reached Redis, the facade calls `keysChanged`/`prefixCleared`/
 *   `tagsInvalidated`; one compact message per namespace is PUBLISHed on the command
 *   connection. A failed publish goes to a bounded {@link PublishQueue} and is retried.
 * - Receiving: a {@link Subscriber}: classic (classic_subscriber.ts: PSUBSCRIBE `<prefix>:bus:*`)
 *   or sharded on a Redis 7 Cluster (`bus.sharded`, sharded_subscriber.ts: SSUBSCRIBE to one
 *   channel per slot, written keys announced on their own slot's channel with SPUBLISH, the
 *   namespace in the message). A message from another node drops the keys (or the tagged
 *   entries, or the namespace) from L1 and moves their fences on, so that a read in flight does
 *   not install what it read. Malformed messages are ignored with a `bus:error` event.
 * - Outages: while the subscription (every shard's, when sharded) is not confirmed (startup, lost connection, restarted
 *   Redis), the L1 gate refuses L1 entries installed more than `maxStaleness` ago. When the
 *   subscription is confirmed again, every L1 is dropped (whatever was missed is gone) and
 *   only then is the gate lifted.
 * - Silent losses (half-open TCP, a frozen server, a NAT dropping an idle flow) never close the
 *   connection: a PING goes out on it every `heartbeat`; one left unanswered for a whole
 *   interval counts as a loss (gate on, reconnect, resubscribe, drop L1).
 * @internal
 */
import { BusError } from '../errors.js'
import type { Events } from '../observability/events.js'
import { bump, type BusStats } from '../observability/stats.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import { isClusterClient, type RedisConnection } from '../redis/connection.js'
import { ClassicSubscriber } from './classic_subscriber.js'
import {
  byNamespace,
  channelOf,
  decodeMessage,
  encodeMessage,
  namespaceOf,
  newOrigin,
  fromOrigin,
  type MessageKind,
} from './message.js'
import { PublishQueue } from './publish_queue.js'
import {
  publishAnnouncement,
  SHARDED_MARK,
  shardChannelOfKey,
  unwrapNamespace,
  wrapNamespace,
} from './shard_channels.js'
import { ShardedSubscriber } from './sharded_subscriber.js'
import type { Subscriber, SubscriberHost } from './subscriber.js'

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
  /** Sharded pub/sub (SPUBLISH/SSUBSCRIBE, one channel per slot): a Redis 7 Cluster only. */
  sharded: boolean
}

/**
 * A message ready to send: what `PUBLISH channel bytes` needs. A sharded one's channel starts with SHARDED_MARK
 * (shard_channels.ts): the write's Lua call SPUBLISHes it instead.
 */
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
  readonly #channelStart: number
  readonly #sharded: boolean
  readonly #subscriber: Subscriber
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
    this.#sharded = settings.sharded
    this.#channelStart = Buffer.byteLength(channelOf(this.#prefix, ''))
    const bound = settings.maxStaleness
    this.#deaf = bound === 0 ? () => false : (entry) => Date.now() - entry.installedAt <= bound
    this.#firstUp = new Promise((resolve) => (this.#markFirstUp = resolve))
    host.setL1Gate(this.#deaf) // deaf until the first subscription is confirmed
    this.#subscriber = this.#subscribe()
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
    const [first, ...others] = byNamespace(this.#prefix, keys)
    if (first === undefined || others.length > 0)
      throw new TypeError(`Expected keys of one namespace under '${this.#prefix}', got ${keys.length} keys`)
    this.#published++
    return this.#message(first[0], 'keys', first[1], keys[0])
  }

  /** The message announcing that entries of the namespace at `prefix` carrying one of `tags` went stale. */
  tagsMessage(prefix: string, tags: readonly string[]): OutgoingMessage {
    this.#published++
    return this.#message(namespaceOf(this.#prefix, prefix), 'tags', tags)
  }

  /** The message announcing that every key of the namespace at `prefix` went away. */
  clearMessage(prefix: string): OutgoingMessage {
    this.#published++
    return this.#message(namespaceOf(this.#prefix, prefix), 'clear', [])
  }

  /**
   * Classic: on the namespace's channel. Sharded: on the shard channel of `slotKey`'s slot (a written key: the Lua
   * call that writes it runs on that slot's master), by default the slot of the namespace's tag keys
   * (`{<prefix>:<namespace>}:tag:…`, where INVALIDATE_TAGS runs); every node hears every shard channel.
   */
  #message(namespace: string, kind: MessageKind, items: readonly string[], slotKey?: string): OutgoingMessage {
    const bytes = encodeMessage(kind, this.origin, items)
    if (!this.#sharded) return { channel: channelOf(this.#prefix, namespace), bytes }
    const channel = shardChannelOfKey(this.#prefix, slotKey ?? `{${this.#prefix}:${namespace}}`)
    return { channel: SHARDED_MARK + channel, bytes: wrapNamespace(namespace, bytes) }
  }

  /**
   * Announces on its own, retried until it is sent, that every key under `prefix` may have gone: for a clear
   * whose deletes may have landed although it failed before its own announcement.
   */
  prefixCleared(prefix: string): void {
    this.#publish(namespaceOf(this.#prefix, prefix), 'clear', [])
  }

  #publish(namespace: string, kind: MessageKind, items: readonly string[]): void {
    if (this.#closed) return
    this.#send(this.#message(namespace, kind, items)).then(undefined, (error: unknown) => {
      this.#queue.add(namespace, kind, items)
      this.#error('publish', `PUBLISH for ${namespace} failed (will retry): ${(error as Error).message}`, error)
      this.#scheduleRetry()
    })
  }

  /** PUBLISH (SPUBLISH when sharded) through the connection (timeout, circuit breaker). */
  async #send({ channel, bytes }: OutgoingMessage): Promise<void> {
    await this.#connection.run('PUBLISH', (client) => publishAnnouncement(client, channel, bytes))
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
      this.#send(this.#message(batch.namespace, batch.kind, batch.items)).then(
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

  // ---------------------------------------------------------------- receiving

  /** The subscriber of this bus's kind; it reports to the bus through the host made here. */
  #subscribe(): Subscriber {
    const host: SubscriberHost = {
      connection: this.#connection,
      origin: this.origin,
      subscribed: () => this.#confirm(),
      lost: this.#down,
      message: this.#receive,
      error: (operation, message, cause) => this.#error(operation, message, cause),
    }
    const client = this.#connection.client // a Cluster when sharded: resolveOptions checks it
    if (this.#sharded && isClusterClient(client)) return new ShardedSubscriber(host, client, this.#prefix)
    return new ClassicSubscriber(host, this.#prefix)
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
  #confirm(): void {
    if (this.#closed) return
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
    if (!this.#listening || this.#closed) {
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
      this.#subscriber.reconnect() // subscribed again later: revalidate L1, lift the gate
      return
    }
    this.#awaitingPong = true
    const sent = performance.now()
    this.#subscriber.ping().then(
      (current) => {
        if (!current) return
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

  readonly #receive = (channel: Buffer, raw: Buffer): void => {
    this.#lastHeardAt = Date.now()
    let message
    let namespace
    try {
      if (this.#sharded) ({ namespace, message: raw } = unwrapNamespace(raw))
      if (fromOrigin(raw, this.origin)) return // this node's own write, delivered back
      namespace ??= channel.toString('utf8', this.#channelStart) // after '<prefix>:bus:'
      message = decodeMessage(raw)
    } catch (error) {
      bump(this.#dropped, 'malformed')
      this.#error('receive', `ignored a malformed message on ${channel.toString()}: ${(error as Error).message}`, error)
      return
    }
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
    clearInterval(this.#heartbeatTimer)
    this.#host.setL1Gate(undefined)
    await this.#subscriber.close()
  }
}
