/**
 * Wakes the processes waiting for a lock holder's value. One subscriber connection per cache
 * (a `duplicate()` of its client, created on first use) listens on the lock channel; a release
 * published there wakes every waiter of that lock key at once. No polling: a waiter sleeps until
 * the message or its own deadline. Self-contained so that it can later share the bus connection.
 * @internal
 */
import { isClusterClient } from '../redis/connection.js'
import type { RedisClient } from '../tiers/redis_tier.js'

export type WaitOutcome = 'woken' | 'timeout'

/** A registered waiter: `outcome` settles on a release of its key or at its deadline. */
export interface Waiter {
  readonly outcome: Promise<WaitOutcome>
  cancel(): void
}

export class LockWaiters {
  readonly #client: RedisClient
  readonly #channel: string
  readonly #onError: (error: unknown) => void
  readonly #waiters = new Map<string, Set<(outcome: WaitOutcome) => void>>()
  #subscriber: RedisClient | undefined
  #ready: Promise<void> | undefined
  #closed = false

  constructor(client: RedisClient, channel: string, onError: (error: unknown) => void) {
    this.#client = client
    this.#channel = channel
    this.#onError = onError
  }

  /**
   * Registers a waiter for `lockKey` before the caller checks for the value, so that a release
   * published between that check and the wait is not missed.
   */
  wait(lockKey: string, timeout: number): Waiter {
    let settle!: (outcome: WaitOutcome) => void
    const outcome = new Promise<WaitOutcome>((resolve) => (settle = resolve))
    let set = this.#waiters.get(lockKey)
    if (set === undefined) this.#waiters.set(lockKey, (set = new Set()))
    const waiters = set
    const timer = setTimeout(() => finish('timeout'), timeout)
    const finish = (result: WaitOutcome): void => {
      clearTimeout(timer)
      waiters.delete(finish)
      if (waiters.size === 0 && this.#waiters.get(lockKey) === waiters) this.#waiters.delete(lockKey)
      settle(result)
    }
    waiters.add(finish)
    return { outcome, cancel: () => finish('timeout') }
  }

  /** Resolves once the subscriber listens on the lock channel (creating it on first use). */
  ready(): Promise<void> {
    if (this.#ready !== undefined) return this.#ready
    const client = this.#client
    // Narrowed first: ioredis 6's Redis and Cluster `duplicate` signatures cannot be called on their union.
    const subscriber: RedisClient = isClusterClient(client) ? client.duplicate() : client.duplicate()
    this.#subscriber = subscriber
    subscriber.on('error', this.#onError)
    subscriber.on('message', (channel: string, lockKey: string) => {
      if (channel !== this.#channel) return
      const waiters = this.#waiters.get(lockKey)
      if (waiters !== undefined) for (const finish of [...waiters]) finish('woken')
    })
    // A connection that ends for good (a retryStrategy that gives up, or ioredis's Sentinel failover detector closing
    // it while it asks the sentinels) would leave every waiter to its lockTimeout: replace it, at once if anyone waits.
    subscriber.once('end', () => {
      if (!this.#forget(subscriber) || this.#waiters.size === 0) return
      this.ready().catch(this.#onError)
    })
    this.#ready = subscriber.subscribe(this.#channel).then(() => undefined)
    // A failed subscribe is retried by the next caller rather than remembered forever.
    this.#ready.catch(() => {
      if (this.#forget(subscriber)) subscriber.disconnect()
    })
    return this.#ready
  }

  /** Drops `subscriber` if it is the current one (so that the next `ready()` makes a new one); true if it was. */
  #forget(subscriber: RedisClient): boolean {
    if (this.#subscriber !== subscriber || this.#closed) return false
    this.#ready = undefined
    this.#subscriber = undefined
    return true
  }

  /** Number of keys with waiters (a diagnostic). */
  get size(): number {
    return this.#waiters.size
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const waiters of this.#waiters.values()) for (const finish of [...waiters]) finish('timeout')
    const subscriber = this.#subscriber
    this.#subscriber = undefined
    subscriber?.disconnect()
  }
}
