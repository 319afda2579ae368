/**
 * Sharded pub/sub for the bus on a Redis 7 Cluster (`bus: { sharded: true }`; ARCHITECTURE.md "Sharded bus"):
 * one connection per master, each SSUBSCRIBEd to the shard channel of every slot that master owns
 * (shard_channels.ts; SSUBSCRIBE takes the channels of one slot per command, so that is one command per slot,
 * sent together). Subscribed means every master's connection confirmed all of its slots.
 *
 * Any loss (a connection closes, a master dies, a slot migrates away: Redis then unsubscribes its channels, which
 * ioredis 6 reports as `moved`, ioredis 5 as a queue error naming `sunsubscribe`, a subscription fails) drops the
 * whole round: every connection of it is closed, the Cluster client's slot map refreshed, and a new round opened
 * on the owners it names now, retried with backoff (25 ms up to 250 ms) while it fails. Whole rounds keep this
 * simple and cost little: the bus revalidates all of L1 after any loss anyway.
 * @internal
 */
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import { reconnectDelay } from '../redis/connection.js'
import { shardChannel, SLOTS } from './shard_channels.js'
import { closeConnection, subscriberOptions, type Subscriber, type SubscriberHost } from './subscriber.js'

interface Shard {
  readonly sub: Redis
  readonly slots: readonly number[]
  confirmed: boolean
}

export class ShardedSubscriber implements Subscriber {
  readonly #host: SubscriberHost
  readonly #cluster: Cluster
  readonly #prefix: string
  #shards: Shard[] = []
  /** Moves on with every round opened or lost: events of an older round's connections are ignored. */
  #round = 0
  #attempts = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(host: SubscriberHost, cluster: Cluster, prefix: string) {
    this.#host = host
    this.#cluster = cluster
    this.#prefix = prefix
    this.#open()
  }

  /** The masters that own the slots now, with their slots, by address (`host:port`); undefined while a slot has none. */
  #owners(): Map<string, number[]> | undefined {
    const slots = this.#cluster.slots as ReadonlyArray<readonly string[] | undefined>
    const owners = new Map<string, number[]>()
    for (let slot = 0; slot < SLOTS; slot++) {
      const master = slots[slot]?.[0]
      if (master === undefined) return undefined
      const list = owners.get(master)
      if (list === undefined) owners.set(master, [slot])
      else list.push(slot)
    }
    return owners
  }

  #open(): void {
    if (this.#closed) return
    const round = ++this.#round
    const owners = this.#cluster.status === 'ready' ? this.#owners() : undefined
    if (owners === undefined) {
      // Not connected yet, or a slot without a master (mid-failover): ask again.
      this.#lose(round)
      return
    }
    const base = this.#cluster.options.redisOptions as RedisOptions
    for (const [address, slots] of owners) {
      const colon = address.lastIndexOf(':')
      const sub = new Redis({
        ...base,
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        ...subscriberOptions(this.#host.origin),
        retryStrategy: () => null, // a new round instead, on the owners of then
      })
      const shard: Shard = { sub, slots, confirmed: false }
      this.#shards.push(shard)
      sub.on('ready', () => this.#subscribe(shard, round))
      sub.on('close', () => this.#lose(round))
      sub.on('moved', () => this.#lose(round)) // ioredis 6: Redis unsubscribed a slot's channel (it migrated)
      sub.on('error', (error: Error) => {
        this.#host.error('connection', `bus shard subscriber ${address}: ${error.message}`, error)
        if (error.message.includes('sunsubscribe')) this.#lose(round) // ioredis 5's view of the same
      })
      sub.on('smessageBuffer', (channel: Buffer, raw: Buffer) => {
        if (round === this.#round) this.#host.message(channel, raw)
      })
    }
  }

  #subscribe(shard: Shard, round: number): void {
    if (round !== this.#round || this.#closed) return
    const { sub, slots } = shard
    Promise.all(slots.map((slot) => sub.ssubscribe(shardChannel(this.#prefix, slot)))).then(
      () => {
        if (round !== this.#round || this.#closed || sub.status !== 'ready') return
        shard.confirmed = true
        if (!this.#shards.every((s) => s.confirmed)) return
        this.#attempts = 0
        this.#host.subscribed()
      },
      (error: unknown) => {
        this.#host.error('subscribe', `SSUBSCRIBE failed: ${(error as Error).message}`, error)
        this.#lose(round)
      },
    )
  }

  /** Round `round` is lost: report it, close its connections, and open a new round soon on a fresh slot map. */
  #lose(round: number): void {
    if (round !== this.#round || this.#closed) return
    this.#round++
    this.#host.lost()
    const shards = this.#shards
    this.#shards = []
    for (const { sub } of shards) sub.disconnect()
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#cluster.refreshSlotsCache(() => this.#open())
    }, reconnectDelay(++this.#attempts))
    this.#timer.unref()
  }

  async ping(): Promise<boolean> {
    const round = this.#round
    const shards = this.#shards
    if (shards.length === 0) return false
    await Promise.all(shards.map(({ sub }) => sub.ping()))
    return round === this.#round
  }

  reconnect(): void {
    this.#lose(this.#round)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    const shards = this.#shards
    this.#shards = []
    await Promise.all(shards.map(({ sub }) => closeConnection(sub)))
  }
}
