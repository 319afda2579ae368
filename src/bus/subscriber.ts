/**
 * What the bus's receiving side looks like to the bus: a {@link Subscriber} keeps the subscription(s) of one node
 * and reports to its {@link SubscriberHost} when every subscription is confirmed, when one is lost, and each
 * message. Two kinds: classic pub/sub (classic_subscriber.ts: one connection, PSUBSCRIBE) and sharded pub/sub on
 * a Redis 7 Cluster (sharded_subscriber.ts: one connection per master, SSUBSCRIBE). The gate, revalidation and
 * heartbeat policy stay in the bus.
 * @internal
 */
import type { RedisOptions } from 'ioredis'
import { OWNED_CLIENT_DEFAULTS, reconnectDelay, type RedisConnection } from '../redis/connection.js'

export interface SubscriberHost {
  readonly connection: RedisConnection
  /** Names the connections (`CLIENT LIST`): `tiercache-bus-<origin hex>`. */
  readonly origin: Buffer
  /** Every subscription is confirmed on a live connection: from now on every invalidation is heard. */
  subscribed(): void
  /** A subscription was lost (or may have been): invalidations may be missed until `subscribed()` again. */
  lost(): void
  /** A message arrived on `channel`. */
  message(channel: Buffer, raw: Buffer): void
  error(operation: 'subscribe' | 'connection', message: string, cause: unknown): void
}

export interface Subscriber {
  /**
   * PINGs every subscriber connection. Resolves true when they all answered and are still the current ones, false
   * when they were replaced meanwhile; rejects when a connection failed (its loss is reported by `lost()`).
   */
  ping(): Promise<boolean>
  /** Drops the connections and subscribes anew (a PING went unanswered). */
  reconnect(): void
  close(): Promise<void>
}

/** The options every subscriber connection gets, whatever the client it is made from uses. */
export function subscriberOptions(origin: Buffer): RedisOptions {
  return {
    autoResubscribe: false, // resubscribed by the subscriber, which reports it: the bus then revalidates L1
    lazyConnect: false,
    connectionName: `tiercache-bus-${origin.toString('hex')}`,
    maxRetriesPerRequest: null,
    retryStrategy: reconnectDelay, // ours, whatever the client it duplicates uses: deaf costs misses everywhere
    disconnectTimeout: OWNED_CLIENT_DEFAULTS.disconnectTimeout,
  }
}

/** Closes a subscriber connection: a connected one says goodbye (bounded), one still connecting stops at once. */
export async function closeConnection(sub: { status: string; quit(): Promise<unknown>; disconnect(): void }) {
  if (sub.status === 'ready')
    await Promise.race([sub.quit().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
  sub.disconnect()
}
