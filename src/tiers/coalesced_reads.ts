/**
 * The plain L2 reads of `get`: reads issued in the same tick go out together, as one MGET (one per hash slot on a
 * Cluster; a lone read as a GET), and a few (by value size) of them are kept in flight while callers wait.
 * @internal
 */
import type { RedisConnection } from '../redis/connection.js'
import type { PendingRead } from './redis_tier_types.js'

/**
 * Coalesced reads kept in flight when callers are waiting (see `#flush`), by the size of the values read lately.
 * Measured at 10 reads in flight (bench/, `l2-get/c10`, the same run against ioredis getBuffer + unpack): with 10 KB
 * values one read in flight was 0.80x raw, two 0.97–1.16x, three 1.07x, four 1.01–1.09x, five 0.91x; with 100 B
 * values two were 0.93–0.96x, three 0.98–1.13x, four 1.20–1.23x, five 1.14x, ten 0.85x. Small replies cost this
 * process per command, so more of them overlap Redis's work; large ones cost it per byte, so fewer and larger do
 * better. At 100 in flight coalescing keeps its gain at any depth (1.3–2.9x).
 */
const SMALL_DEPTH = 4
const LARGE_DEPTH = 2
/** Mean value size (bytes) from which reads count as large. */
const LARGE_VALUE = 2048
export class CoalescedReads {
  readonly #connection: RedisConnection
  readonly #mget: (keys: readonly string[]) => Promise<Array<Buffer | null>>
  #pending: PendingRead[] = []
  /** Reads (GET or MGET) sent and not yet answered. */
  #inFlight = 0
  /** Mean size of the values read lately (a moving average over about 8 replies), bytes. */
  #valueBytes = 0

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
   * Sends the reads of one tick. While fewer than a few (by value size) reads are in flight, the batch is split so that
   * there are: with every caller waiting on one MGET, Redis and this process take turns (one builds or sends the
   * reply while the other waits); with two, this process decodes one reply while Redis sends the next. The callers
   * of each part come back in a tick of their own, so the parts stay apart.
   */
  readonly #flush = (): void => {
    const batch = this.#pending
    this.#pending = []
    const depth = this.#valueBytes < LARGE_VALUE ? SMALL_DEPTH : LARGE_DEPTH
    const parts = Math.min(batch.length, depth - this.#inFlight)
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
          this.#measured(value === null ? 0 : value.length, 1)
          read.resolve(value)
        }, fail)
      return
    }
    this.#mget(batch.map((read) => read.key)).then((values) => {
      this.#inFlight--
      let bytes = 0
      for (const value of values) if (value !== null) bytes += value.length
      this.#measured(bytes, values.length)
      for (let i = 0; i < batch.length; i++) (batch[i] as PendingRead).resolve(values[i] ?? null)
    }, fail)
  }

  #measured(bytes: number, reads: number): void {
    if (reads > 0) this.#valueBytes += (bytes / reads - this.#valueBytes) / 8
  }
}
