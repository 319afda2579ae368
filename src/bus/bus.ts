/**
 * The invalidation bus: Redis pub/sub that keeps every node's L1 coherent (DESIGN.md, points 3
 * to 5). Installed as the context's `announcer`.
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
 *   Redis), `ctx.l1Gate` refuses L1 entries installed more than `maxStaleness` ago. When the
 *   subscription is confirmed again, every L1 is dropped (whatever was missed is gone) and
 *   only then is the gate lifted.
 * - Silent losses (half-open TCP, a frozen server, a NAT dropping an idle flow) never close the
 *   connection: a PING goes out on it every `heartbeat`; one left unanswered for a whole
 *   interval counts as a loss (gate on, reconnect, resubscribe, drop L1).
 * @internal
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { Announcer, CacheContext } from '../cache/context.js'
import { BusError } from '../errors.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import type { RedisClient } from '../tiers/redis_tier.js'
import { channelOf, channelPattern, decodeMessage, encodeMessage, newOrigin, sameOrigin, type MessageKind } from './message.js'
import { PublishQueue } from './publish_queue.js'

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

export class Bus implements Announcer {
  /** Names this node on the bus: messages carrying it are its own and are ignored. */
  readonly origin = newOrigin()
  readonly #ctx: CacheContext
  readonly #settings: BusSettings
  readonly #client: RedisClient
  readonly #queue: PublishQueue
  readonly #prefix: string
  readonly #pattern: string
  readonly #channelStart: number
  #sub: Redis | undefined
  #up = false
  #closed = false
  #retryTimer: NodeJS.Timeout | undefined
  #retryDelay = FIRST_RETRY_DELAY
  #heartbeatTimer: NodeJS.Timeout | undefined
  #awaitingPong = false
  readonly #gate: (entry: MemoryEntry) => boolean

  constructor(ctx: CacheContext, settings: BusSettings) {
    const l2 = ctx.l2
    if (l2 === undefined) throw new TypeError('The bus needs Redis')
    this.#ctx = ctx
    this.#settings = settings
    this.#client = l2.client
    this.#queue = new PublishQueue(settings.maxQueue)
    this.#prefix = ctx.options.prefix
    this.#pattern = channelPattern(this.#prefix)
    this.#channelStart = Buffer.byteLength(channelOf(this.#prefix, ''))
    const bound = settings.maxStaleness
    this.#gate = bound === 0 ? () => false : (entry) => Date.now() - entry.at <= bound
    ctx.l1Gate = this.#gate // deaf until the first subscription is confirmed
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

  // ---------------------------------------------------------------- sending

  keysChanged(keys: readonly string[]): void {
    for (const [namespace, items] of this.#byNamespace(keys)) this.#publish(namespace, 'keys', items)
  }

  prefixCleared(prefix: string): void {
    const namespace = this.#namespaceOfPrefix(prefix)
    if (namespace !== undefined) this.#publish(namespace, 'clear', [])
  }

  tagsInvalidated(prefix: string, tags: readonly string[]): void {
    const namespace = this.#namespaceOfPrefix(prefix)
    if (namespace !== undefined) this.#publish(namespace, 'tags', tags)
  }

  /**
   * The messages that announce that full Redis keys `keys` changed, one per namespace, without sending them: for a
   * caller that puts SET and PUBLISH in one pipeline.
   */
  messagesFor(keys: readonly string[]): OutgoingMessage[] {
    return [...this.#byNamespace(keys)].map(([namespace, items]) => ({
      channel: channelOf(this.#prefix, namespace),
      bytes: encodeMessage('keys', this.origin, items),
    }))
  }

  #publish(namespace: string, kind: MessageKind, items: readonly string[]): void {
    if (this.#closed) return
    this.#send(channelOf(this.#prefix, namespace), encodeMessage(kind, this.origin, items)).then(undefined, (error: unknown) => {
      this.#queue.add(namespace, kind, items)
      this.#error('publish', `PUBLISH on ${channelOf(this.#prefix, namespace)} failed (will retry): ${(error as Error).message}`, error)
      this.#scheduleRetry()
    })
  }

  /** PUBLISH with the L2 command timeout. */
  #send(channel: string, bytes: Buffer): Promise<void> {
    const timeout = this.#ctx.options.l2?.timeout ?? 0
    return new Promise((resolve, reject) => {
      const timer = timeout > 0 ? setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout) : undefined
      this.#client.publish(channel, bytes).then(
        () => {
          clearTimeout(timer)
          resolve()
        },
        (error: unknown) => {
          clearTimeout(timer)
          reject(error as Error)
        },
      )
    })
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
    const client = this.#client
    let sub: Redis
    if (client instanceof Cluster) {
      // A plain connection to one master: PUBLISH reaches every node of a cluster, and unlike the Cluster's own
      // subscriber, this connection's losses and returns can be seen (and so gated).
      const node = client.nodes('master')[0]
      if (node === undefined) {
        client.once('ready', () => this.#connect())
        return
      }
      const { host, port } = node.options
      sub = new Redis({ ...(client.options.redisOptions as RedisOptions), host, port, ...this.#subOptions() })
    } else {
      sub = client.duplicate(this.#subOptions())
    }
    this.#sub = sub
    sub.on('ready', this.#subscribe)
    sub.on('close', this.#down)
    sub.on('error', (error: Error) => this.#error('connection', `bus subscriber connection: ${error.message}`, error))
    sub.on('pmessageBuffer', this.#receive)
  }

  #subOptions(): RedisOptions {
    return {
      autoResubscribe: false, // resubscribed by #subscribe, which then drops L1 before lifting the gate
      lazyConnect: false,
      connectionName: `tiercache-bus-${this.origin.toString('hex')}`,
      maxRetriesPerRequest: null,
    }
  }

  readonly #subscribe = (): void => {
    const sub = this.#sub
    if (sub === undefined || this.#closed) return
    sub.psubscribe(this.#pattern).then(
      () => this.#confirm(sub),
      (error: unknown) => this.#error('subscribe', `PSUBSCRIBE ${this.#pattern} failed: ${(error as Error).message}`, error),
    )
  }

  /** The subscription is live: from now on every invalidation is heard. Drop what may have been missed, then serve L1. */
  #confirm(sub: Redis): void {
    if (this.#closed || sub !== this.#sub || sub.status !== 'ready') return
    const ctx = this.#ctx
    ctx.fences.invalidateAll()
    let dropped = 0
    for (const scope of ctx.scopes.values()) {
      dropped += scope.l1?.entries ?? 0
      scope.l1?.clear()
    }
    this.#up = true
    if (ctx.l1Gate === this.#gate) ctx.l1Gate = undefined
    ctx.events.emit('bus:state', { state: 'up', dropped })
  }

  readonly #beat = (): void => {
    const sub = this.#sub
    if (sub === undefined || !this.#up || this.#closed) {
      this.#awaitingPong = false
      return
    }
    if (this.#awaitingPong) {
      this.#awaitingPong = false
      this.#error('connection', `bus subscriber did not answer a PING within ${this.#settings.heartbeat} ms: reconnecting`, undefined)
      this.#down()
      sub.disconnect(true) // 'ready' again later: resubscribe, drop L1, lift the gate
      return
    }
    this.#awaitingPong = true
    sub.ping().then(
      () => {
        if (sub === this.#sub) this.#awaitingPong = false
      },
      () => undefined, // the connection is gone: 'close' already reported it
    )
  }

  readonly #down = (): void => {
    if (!this.#up || this.#closed) return
    this.#up = false
    this.#ctx.l1Gate = this.#gate
    this.#ctx.events.emit('bus:state', { state: 'down', dropped: 0 })
  }

  readonly #receive = (_pattern: string, channel: Buffer, raw: Buffer): void => {
    let message
    try {
      message = decodeMessage(raw)
    } catch (error) {
      this.#error('receive', `ignored a malformed message on ${channel.toString()}: ${(error as Error).message}`, error)
      return
    }
    if (sameOrigin(message, this.origin)) return
    const namespace = channel.toString('utf8', this.#channelStart) // after '<prefix>:bus:'
    this.apply(namespace, message.kind, message.items)
  }

  /** Applies an invalidation heard from another node. @internal (exported for tests) */
  apply(namespace: string, kind: MessageKind, items: readonly string[]): void {
    const ctx = this.#ctx
    const scope = ctx.scopes.get(namespace)
    if (scope !== undefined) {
      if (kind === 'keys') {
        for (const key of items) {
          ctx.fences.invalidate(scope.prefix + key)
          scope.l1?.delete(key)
        }
      } else {
        ctx.fences.invalidateAll()
        if (kind === 'clear') scope.l1?.clear()
        else scope.l1?.deleteTagged(new Set(items))
      }
    }
    ctx.events.emit('bus:message', { namespace, kind, items })
  }

  #error(operation: 'publish' | 'receive' | 'subscribe' | 'connection', message: string, cause: unknown): void {
    if (this.#closed && operation !== 'publish') return
    this.#ctx.events.emit('bus:error', { operation, error: new BusError(message, { cause }) })
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closed) return
    const lost = this.#queue.size
    if (lost > 0) this.#error('publish', `closed with ${lost} invalidations not yet published`, undefined)
    this.#closed = true
    clearTimeout(this.#retryTimer)
    clearInterval(this.#heartbeatTimer)
    if (this.#ctx.l1Gate === this.#gate) this.#ctx.l1Gate = undefined
    const sub = this.#sub
    this.#sub = undefined
    if (sub === undefined) return
    await Promise.race([sub.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
    sub.disconnect()
  }
}
