/**
 * Classic pub/sub for the bus: one connection of its own, PSUBSCRIBEd to `<prefix>:bus:*` (every namespace's
 * channel, so a namespace created later needs no new subscription and has no window in which it is deaf).
 *
 * On a Cluster it is a plain connection to one node (classic PUBLISH reaches every node of a cluster, and unlike
 * the Cluster's own subscriber, this connection's losses and returns can be seen, and so gated). Masters first,
 * then replicas, taken in turn: a lost connection is not retried on its node (which may be gone for good) but
 * moves on to the next one (see #moveOn).
 * @internal
 */
import { Redis, type RedisOptions } from 'ioredis'
import { isClusterClient, reconnectDelay } from '../redis/connection.js'
import { channelPattern } from './message.js'
import { closeConnection, subscriberOptions, type Subscriber, type SubscriberHost } from './subscriber.js'

export class ClassicSubscriber implements Subscriber {
  readonly #host: SubscriberHost
  readonly #pattern: string
  #sub: Redis | undefined
  #closed = false
  /** On a Cluster: which node the next subscriber connection goes to (in turn), and the pending move to it. */
  #nodeTurn = 0
  #moveAttempts = 0
  #moveTimer: NodeJS.Timeout | undefined

  constructor(host: SubscriberHost, prefix: string) {
    this.#host = host
    this.#pattern = channelPattern(prefix)
    this.#connect()
  }

  #connect(): void {
    if (this.#closed) return
    const client = this.#host.connection.client
    let sub: Redis
    if (isClusterClient(client)) {
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
        ...subscriberOptions(this.#host.origin),
        retryStrategy: () => null, // 'end' instead: #moveOn
      })
    } else {
      sub = client.duplicate(subscriberOptions(this.#host.origin))
    }
    sub.on('end', () => this.#moveOn(sub))
    this.#sub = sub
    sub.on('ready', () => this.#subscribe(sub))
    sub.on('close', () => this.#host.lost())
    sub.on('error', (error: Error) =>
      this.#host.error('connection', `bus subscriber connection: ${error.message}`, error),
    )
    sub.on('pmessageBuffer', (_pattern: string, channel: Buffer, raw: Buffer) => this.#host.message(channel, raw))
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

  #subscribe(sub: Redis): void {
    if (sub !== this.#sub || this.#closed) return
    sub.psubscribe(this.#pattern).then(
      () => {
        if (this.#closed || sub !== this.#sub || sub.status !== 'ready') return
        this.#moveAttempts = 0
        this.#host.subscribed()
      },
      (error: unknown) =>
        this.#host.error('subscribe', `PSUBSCRIBE ${this.#pattern} failed: ${(error as Error).message}`, error),
    )
  }

  async ping(): Promise<boolean> {
    const sub = this.#sub
    if (sub === undefined) return false
    await sub.ping()
    return sub === this.#sub
  }

  reconnect(): void {
    this.#sub?.disconnect(true) // 'ready' again later: resubscribe, revalidate L1, lift the gate
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#moveTimer)
    const sub = this.#sub
    this.#sub = undefined
    if (sub !== undefined) await closeConnection(sub)
  }
}
