/**
 * The plain L2 reads of `get`: reads issued in the same tick go out together, as one MGET (one per hash slot on a
 * Cluster; a lone read as a GET), and {@link READ_DEPTH} of them are kept in flight while callers wait.
 * @internal
 */
import type { RedisConnection } from '../redis/connection.js'
import type { PendingRead } from './redis_tier_types.js'

/**
 * Coalesced reads kept in flight when callers are waiting (see `#flush`). Measured with 10 KB values at 10 reads
 * in flight (a probe alternating tiercache `l1: false` and ioredis getBuffer + unpack, medians of 9): one MGET per
 * tick 0.80x raw, two in flight 0.97–1.04x; 3 did no better. At 100 in flight coalescing keeps its gain (1.2–1.7x).
 */
const READ_DEPTH = 2

export class CoalescedReads {
  readonly #connection: RedisConnection
  readonly #mget: (keys: readonly string[]) => Promise<Array<Buffer | null>>
  #pending: PendingRead[] = []
  /** Reads (GET or MGET) sent and not yet answered. */
  #inFlight = 0

  constructor(connection: RedisConnection, mget: (keys: readonly string[]) => Promise<Array<Buffer | null>>) {
    this.#connection = connection
    this.#mget = mget
  }

  get(key: string): Promise<Buffer | null> {
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ key, resolve, reject }) === 1) process.nextTick(this.#flush)
    })
  }

  /**
   * Sends the reads of one tick. While fewer than {@link READ_DEPTH} reads are in flight, the batch is split so that
   * there are: with every caller waiting on one MGET, Redis and this process take turns (one builds or sends the
   * reply while the other waits); with two, this process decodes one reply while Redis sends the next. The callers
   * of each part come back in a tick of their own, so the parts stay apart.
   */
  readonly #flush = (): void => {
    const batch = this.#pending
    this.#pending = []
    const parts = Math.min(batch.length, READ_DEPTH - this.#inFlight)
    if (parts <= 1) return this.#send(batch)
    for (let start = 0, part = 0; part < parts; part++) {
      const end = start + Math.ceil((batch.length - start) / (parts - part))
      this.#send(batch.slice(start, end))
      start = end
    }
  }

  /** One GET, or one MGET for the batch. */
  #send(batch: PendingRead[]): void {
    this.#inFlight++
    const fail = (error: unknown): void => {
      this.#inFlight--
      for (const read of batch) read.reject(error)
    }
    if (batch.length === 1) {
      const read = batch[0] as PendingRead
      this.#connection
        .run('GET', (client) => client.getBuffer(read.key))
        .then((value) => {
          this.#inFlight--
          read.resolve(value)
        }, fail)
      return
    }
    this.#mget(batch.map((read) => read.key)).then((values) => {
      this.#inFlight--
      for (let i = 0; i < batch.length; i++) (batch[i] as PendingRead).resolve(values[i] ?? null)
    }, fail)
  }
}
