import { channel, type Channel } from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import type { BusError, CacheError, DecodeError } from '../errors.js'
import type { CircuitState } from '../redis/circuit_breaker.js'

/** The events a cache emits, with their payloads. Also published on `diagnostics_channel` as `tiercache:<name>`. */
export interface CacheEvents {
  /** A read was answered from L1 or L2. Costs nothing unless someone listens. */
  hit: { namespace: string; key: string; layer: 'l1' | 'l2' }
  /** A read found nothing usable in any tier. */
  miss: { namespace: string; key: string }
  /** A value was written (L2, then L1). */
  written: { namespace: string; keys: readonly string[] }
  /** Keys were deleted with `delete` or `deleteMany` (`expire` emits nothing). */
  deleted: { namespace: string; keys: readonly string[] }
  /** A namespace was cleared. */
  cleared: { namespace: string; deleted: number }
  /** A Redis command failed or timed out. Reads treat it as a miss. */
  'l2:error': { operation: string; key: string | undefined; error: CacheError }
  /** The circuit breaker in front of Redis changed state. */
  'l2:circuit': { state: CircuitState }
  /** A value under one of our keys could not be decoded (garbage, truncated, foreign). It was treated as a miss. */
  'decode:error': { namespace: string; key: string; error: DecodeError }
  /** A write reached L1 only, because L2 failed (policy `l2.onWriteError: 'local'`, or a `getOrSet` result). */
  'write:degraded': { namespace: string; key: string; error: CacheError }
  /**
   * The bus subscription went down (this node cannot hear invalidations: L1 entries older than `bus.maxStaleness`
   * are not served) or came back (L1 was dropped, then L1 hits resumed).
   */
  'bus:state': { state: 'up' | 'down'; dropped: number }
  /** An invalidation from another node was applied to this node's L1. */
  'bus:message': { namespace: string; kind: 'keys' | 'clear' | 'tags'; items: readonly string[] }
  /** A bus message could not be published (it is retried) or one received on the channel was malformed (ignored). */
  'bus:error': { operation: 'publish' | 'receive' | 'subscribe' | 'connection'; error: BusError }
  /** Tags were invalidated from this node. */
  'tags:invalidated': { namespace: string; tags: readonly string[] }
  /** A background factory run (refresh-ahead, or one that outlived a soft or hard timeout) failed. */
  'refresh:error': { namespace: string; key: string; error: CacheError }
  /** `getOrSet` returned a stale value (within `grace`) instead of a fresh one, and why. */
  'stale:served': {
    namespace: string
    key: string
    reason: 'factory-error' | 'soft-timeout' | 'hard-timeout' | 'lock-held' | 'refreshing'
    /** What the factory threw, for `factory-error`. */
    error?: CacheError
  }
  /** A `lock: true` caller waited `lockTimeout` for the lock holder's value and ran the factory itself. */
  'lock:timeout': { namespace: string; key: string }
  /** A fire-and-forget task (promotion, publish, background refresh) failed. */
  'background:error': { operation: string; key: string | undefined; error: unknown }
}

export type CacheEventName = keyof CacheEvents
export type CacheListener<K extends CacheEventName> = (payload: CacheEvents[K]) => void

const channels = new Map<string, Channel>()
function channelFor(name: string): Channel {
  let ch = channels.get(name)
  if (ch === undefined) channels.set(name, (ch = channel(`tiercache:${name}`)))
  return ch
}

/**
 * A typed event emitter that also publishes on `diagnostics_channel`. `hitMissWatched` lets the
 * hot read path skip building event payloads when nobody listens.
 */
export class Events {
  readonly #emitter = new EventEmitter()
  readonly #hit = channelFor('hit')
  readonly #miss = channelFor('miss')
  #hitMissListeners = 0

  constructor() {
    const count = (delta: number) => (name: string | symbol) => {
      if (name === 'hit' || name === 'miss') this.#hitMissListeners += delta
    }
    this.#emitter.on('newListener', count(1))
    this.#emitter.on('removeListener', count(-1))
  }

  on<K extends CacheEventName>(name: K, listener: CacheListener<K>): this {
    this.#emitter.on(name, listener)
    return this
  }

  once<K extends CacheEventName>(name: K, listener: CacheListener<K>): this {
    this.#emitter.once(name, listener)
    return this
  }

  off<K extends CacheEventName>(name: K, listener: CacheListener<K>): this {
    this.#emitter.off(name, listener)
    return this
  }

  /** True when anyone listens to `hit` or `miss` (here or on diagnostics_channel). Cheap: read on every L1 hit. */
  get hitMissWatched(): boolean {
    return this.#hitMissListeners > 0 || this.#hit.hasSubscribers || this.#miss.hasSubscribers
  }

  emit<K extends CacheEventName>(name: K, payload: CacheEvents[K]): void {
    publishEvent(channelFor(name), this.#emitter, name, payload)
  }

  removeAllListeners(): void {
    for (const name of this.#emitter.eventNames()) {
      if (name !== 'newListener' && name !== 'removeListener') this.#emitter.removeAllListeners(name)
    }
  }
}

/**
 * Publishes an event on its diagnostics channel and to the emitter's listeners, each only when someone listens. A
 * throwing listener must not break the operation that emitted the event: its error is rethrown in a microtask
 * (an uncaught exception, as a throwing EventEmitter listener is everywhere else). Shared with the session store.
 */
export function publishEvent(ch: Channel, emitter: EventEmitter, name: string, payload: unknown): void {
  if (ch.hasSubscribers) ch.publish(payload)
  if (emitter.listenerCount(name) === 0) return
  try {
    emitter.emit(name, payload)
  } catch (error) {
    queueMicrotask(() => {
      throw error
    })
  }
}
