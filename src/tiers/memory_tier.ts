import { LRUCache } from 'lru-cache'

/** What L1 holds for a key: the decoded value, never bytes, so a hit costs no decoding. */
export interface MemoryEntry {
  /** The value (by reference: callers must treat cached values as immutable). */
  readonly v: unknown
  /** Logical expiry, ms since the epoch; 0 for none. */
  readonly e: number
  /** Tags the entry was written with. */
  readonly t: readonly string[] | undefined
  /** When this node installed the entry (ms since the epoch). */
  readonly at: number
  /**
   * Set only on entries that need a time check on a hit (written with `grace` or `refreshAhead`):
   * the time from which the entry needs attention (refresh ahead, or its logical expiry when it
   * lives on in grace). Plain entries leave it out, so their hits never read the clock.
   */
  readonly g?: number
}

export interface MemoryTierOptions {
  maxEntries: number | undefined
  maxBytes: number | undefined
}

/** L1: a bounded in-process LRU (lru-cache), sized by entry count and by encoded bytes. */
export class MemoryTier {
  readonly #lru: LRUCache<string, MemoryEntry>
  /** lru-cache refuses a `size` unless it is bounded by size. */
  readonly #sized: boolean
  /** Keys of tagged entries, by tag, so that dropping a tag costs what it drops, not a scan of L1. */
  readonly #byTag = new Map<string, Set<string>>()

  constructor(options: MemoryTierOptions) {
    // At least one bound is set: resolveOptions guarantees maxEntries or maxBytes.
    const lruOptions = {
      ...(options.maxEntries !== undefined && { max: options.maxEntries }),
      ...(options.maxBytes !== undefined && { maxSize: options.maxBytes, maxEntrySize: options.maxBytes }),
      ttlAutopurge: false,
      allowStale: false,
      updateAgeOnGet: false,
      // Called synchronously whenever an entry leaves (delete, eviction, expiry, overwrite, clear).
      dispose: (entry: MemoryEntry, key: string) => {
        if (entry.t !== undefined) this.#unindex(key, entry.t)
      },
    } as LRUCache.Options<string, MemoryEntry, unknown>
    this.#lru = new LRUCache<string, MemoryEntry>(lruOptions)
    this.#sized = options.maxBytes !== undefined
  }

  get(key: string): MemoryEntry | undefined {
    return this.#lru.get(key)
  }

  /** Installs an entry for `ttl` ms (0: no expiry), counted as `size` bytes. */
  set(key: string, entry: MemoryEntry, ttl: number, size: number): void {
    this.#lru.set(key, entry, this.#sized ? { ttl, size: size > 0 ? size : 1 } : { ttl })
    // After the set: it disposed of the old entry (and its index entries) first. A refused entry is not indexed.
    if (entry.t !== undefined && this.#lru.peek(key) === entry) {
      for (const tag of entry.t) {
        const keys = this.#byTag.get(tag)
        if (keys === undefined) this.#byTag.set(tag, new Set([key]))
        else keys.add(key)
      }
    }
  }

  /** Milliseconds left before `key` expires from L1 (Infinity for no expiry, 0 when absent). */
  remainingTtl(key: string): number {
    return this.#lru.getRemainingTTL(key)
  }

  /** Counted size of `key` (0 when absent). */
  sizeOf(key: string): number {
    return this.#lru.info(key)?.size ?? 0
  }

  delete(key: string): void {
    this.#lru.delete(key)
  }

  /** Drops every entry carrying one of `tags`; returns how many went. Costs what it drops (a tag index), not a scan. */
  deleteTagged(tags: Iterable<string>): number {
    const doomed = new Set<string>()
    for (const tag of tags) for (const key of this.#byTag.get(tag) ?? []) doomed.add(key)
    for (const key of doomed) this.#lru.delete(key)
    return doomed.size
  }

  /** Tags with entries in the index (for tests: it must not outgrow L1). */
  get indexedTags(): number {
    return this.#byTag.size
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.#byTag.delete(tag)
    }
  }

  clear(): void {
    this.#lru.clear()
  }

  get entries(): number {
    return this.#lru.size
  }

  get bytes(): number {
    return this.#lru.calculatedSize
  }
}
