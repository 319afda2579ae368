/**
 * Writes warmed values through the public cache API, so the bus, tags, fences and TTL rules apply to them
 * as to any write: one `setMany` per batch (one Redis round trip, one bus message). Values from `load`
 * that arrive in the same turn of the event loop share a `setMany` too.
 *
 * Per entry, resolves the error that kept it from Redis, or undefined: a value that cannot be cached
 * (too large, not encodable) fails alone (the batch is retried entry by entry), and a write that reached
 * only L1 (`l2.onWriteError: 'local'`, seen as a `write:degraded` event) counts as failed, not warmed.
 */
import { isL2Failure, type Cache, type CacheEvents } from '../index.js'

export interface WarmEntry {
  key: string
  value: unknown
  /** ms; undefined for the cache's ttl. */
  ttl: number | undefined
  tags: readonly string[] | undefined
}

interface Pending {
  entry: WarmEntry
  resolve: (error: unknown) => void
}

export class WarmWriter {
  readonly #cache: Cache
  readonly #batchSize: number
  readonly #degraded = new Map<string, unknown>()
  #pending: Pending[] = []
  readonly #onDegraded = (event: CacheEvents['write:degraded']): void => {
    if (event.namespace === this.#cache.name) this.#degraded.set(event.key, event.error)
  }

  constructor(cache: Cache, batchSize: number) {
    this.#cache = cache
    this.#batchSize = batchSize
    cache.on('write:degraded', this.#onDegraded)
  }

  /** Stops listening to the cache. */
  close(): void {
    this.#cache.off('write:degraded', this.#onDegraded)
  }

  /** Writes one entry along with the others written in this turn of the event loop. Never rejects. */
  write(entry: WarmEntry): Promise<unknown> {
    return new Promise((resolve) => {
      if (this.#pending.push({ entry, resolve }) === 1) setImmediate(this.#flush)
      else if (this.#pending.length >= this.#batchSize) this.#flush()
    })
  }

  /** Writes entries with one `setMany`. Resolves each entry's error (undefined when written). Never rejects. */
  async writeMany(entries: readonly WarmEntry[]): Promise<unknown[]> {
    if (entries.length === 0) return []
    const errors = new Array<unknown>(entries.length).fill(undefined)
    try {
      await this.#cache.setMany(entries.map(toSetManyEntry))
    } catch (error) {
      // A Redis failure is the whole batch's; anything else is one entry that cannot be cached: find it.
      if (isL2Failure(error) || entries.length === 1) errors.fill(error)
      else await Promise.all(entries.map(async (entry, i) => (errors[i] = await this.#writeOne(entry))))
    }
    if (this.#degraded.size > 0)
      for (let i = 0; i < entries.length; i++) {
        const key = (entries[i] as WarmEntry).key
        if (this.#degraded.has(key)) {
          errors[i] ??= this.#degraded.get(key)
          this.#degraded.delete(key)
        }
      }
    return errors
  }

  readonly #flush = (): void => {
    const batch = this.#pending
    if (batch.length === 0) return
    this.#pending = []
    void this.writeMany(batch.map((p) => p.entry)).then((errors) => {
      for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(errors[i])
    })
  }

  async #writeOne(entry: WarmEntry): Promise<unknown> {
    try {
      await this.#cache.setMany([toSetManyEntry(entry)])
      return undefined
    } catch (error) {
      return error
    }
  }
}

function toSetManyEntry(entry: WarmEntry): { key: string; value: unknown; ttl?: number; tags?: readonly string[] } {
  return {
    key: entry.key,
    value: entry.value,
    ...(entry.ttl !== undefined && { ttl: entry.ttl }),
    ...(entry.tags !== undefined && { tags: entry.tags }),
  }
}
