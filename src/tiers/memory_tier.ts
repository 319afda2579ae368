/**
 * L1: one bounded in-process LRU (lru-cache) per cache, holding decoded values for every namespace
 * under one bound, and a view of it per namespace ({@link MemoryTier}) keyed by the caller's key (no
 * string is built on a hit), with a tag index so that dropping a tag costs what it drops.
 * @internal
 */
import { LRUCache } from 'lru-cache'

/** What L1 holds for a key: the decoded value, never bytes, so a hit costs no decoding. */
export interface MemoryEntry {
  /** The value (by reference: callers must treat cached values as immutable). */
  readonly value: unknown
  /** Logical expiry, ms since the epoch; 0 for none. */
  readonly expiresAt: number
  /** Tags the entry was written with. */
  readonly tags: readonly string[] | undefined
  /** When this node installed the entry (ms since the epoch). */
  readonly installedAt: number
  /**
   * The checksum of the envelope the value came from (its version stamp; 0 for a value Redis never held):
   * after a bus outage, revalidation keeps the entry only if Redis still holds the same checksum and expiry.
   */
  readonly checksum: number
  /** When the value was made (tagged entries only): revalidation compares it with its tags' invalidations. */
  readonly createdAt?: number | undefined
  /**
   * Set only on entries that need a time check on a hit (written with `grace` or `refreshAhead`):
   * the time from which a hit must look closer (start a refresh ahead, or treat the entry as
   * expired while it lives on in grace). Plain entries leave it out, so their hits never read the clock.
   */
  readonly reviewAt?: number
}

/**
 * Heap an L1 entry takes beyond its value, counted with every entry's encoded size: the entry and key
 * objects and their places in two maps and the LRU (bench/l1_heap.ts measured 268 bytes for a number).
 * Without it a bound in bytes would let millions of tiny entries through.
 */
export const ENTRY_OVERHEAD = 256

export interface MemoryTierOptions {
  /** Most entries, all namespaces together. */
  maxEntries: number
  /** Most counted bytes (encoded sizes plus {@link ENTRY_OVERHEAD} each), all namespaces together. */
  maxBytes: number
}

/**
 * The key of one live entry in the shared LRU: a namespace's view and the caller's key. One object per
 * entry, found through the view's map, so a hit costs two map lookups and no string building.
 */
interface Slot {
  readonly tier: MemoryTier
  readonly key: string
  /** Counted bytes of the entry it holds. */
  size: number
  /** When the entry it holds expires from L1 ({@link clock} time), 0 for never. */
  until: number
  /** The entry it holds (the LRU's value for this slot), so that a hit need not ask the LRU. */
  entry: MemoryEntry | undefined
  /** The {@link clock} reading at which a hit last moved this slot to the LRU's most recent end. */
  touched: number
}

/**
 * The time L1 expiry is measured in: `performance.now()`, read at most once a millisecond (as lru-cache does), so a
 * hit compares two numbers rather than asking the clock. L1 keeps its own expiry in the slot instead of lru-cache's
 * TTLs: with them every hit took their bookkeeping too, which cost about a tenth of an L1 hit (bench/, L1-hit get).
 */
const perf = performance
let now = 0
const forget = (): void => {
  now = 0
}
function clock(): number {
  if (now === 0) {
    now = perf.now()
    setTimeout(forget, 1).unref()
  }
  return now
}

/** Every namespace's L1 entries in one lru-cache: one bound (entries and bytes) for the whole cache. */
export class MemoryStore {
  readonly #lru: LRUCache<Slot, MemoryEntry>

  constructor(options: MemoryTierOptions) {
    this.#lru = new LRUCache<Slot, MemoryEntry>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      maxEntrySize: options.maxBytes,
      // Called synchronously whenever an entry leaves (delete, eviction, L1 expiry at its next get, overwrite, clear).
      dispose: (entry, slot, reason) => {
        if (reason === 'evict') this.evictions++
        slot.tier.released(slot, entry, reason === 'set')
      },
    })
    this.maxEntries = options.maxEntries
    this.maxBytes = options.maxBytes
  }

  /** Entries the LRU bound (entries or bytes) pushed out since the start. */
  evictions = 0
  readonly maxEntries: number
  readonly maxBytes: number

  /** A view for one namespace. */
  namespace(): MemoryTier {
    return new MemoryTier(this.#lru)
  }

  /** Entries of every namespace. */
  get entries(): number {
    return this.#lru.size
  }

  /** Counted bytes of every namespace. */
  get bytes(): number {
    return this.#lru.calculatedSize
  }
}

/** One namespace's L1: a view of the cache's {@link MemoryStore}, keyed by the caller's key. */
export class MemoryTier {
  readonly #lru: LRUCache<Slot, MemoryEntry>
  readonly #slots = new Map<string, Slot>()
  /** Keys of tagged entries, by tag, so that dropping a tag costs what it drops, not a scan of L1. */
  readonly #byTag = new Map<string, Set<string>>()
  #bytes = 0

  /** @internal Use `MemoryStore.namespace()`. */
  constructor(lru: LRUCache<Slot, MemoryEntry>) {
    this.#lru = lru
  }

  /**
   * The entry at `key`, marked as recently used. Recency is kept to the millisecond: the first hit of a slot in each
   * {@link clock} reading moves it in the LRU, later hits in the same millisecond only read the slot. A hot key then
   * costs one map lookup per hit instead of two and a list move (bench/, L1-hit get), and eviction order differs
   * from exact LRU only among entries used within the same millisecond.
   */
  get(key: string): MemoryEntry | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    const t = clock()
    if (slot.until !== 0 && slot.until <= t) {
      this.#lru.delete(slot)
      return undefined
    }
    if (slot.touched !== t) {
      slot.touched = t
      this.#lru.get(slot)
    }
    return slot.entry
  }

  /** Installs an entry for `ttl` ms (0: no expiry) whose value's encoded size is `size` bytes. */
  set(key: string, entry: MemoryEntry, ttl: number, size: number): void {
    let slot = this.#slots.get(key)
    if (slot === undefined)
      this.#slots.set(key, (slot = { tier: this, key, size: 0, until: 0, entry: undefined, touched: 0 }))
    const counted = Math.max(0, size) + ENTRY_OVERHEAD
    this.#lru.set(slot, entry, { size: counted })
    // After the set: it disposed of the old entry (and its index entries) first. A refused entry (larger than
    // the whole bound) is not kept.
    if (this.#lru.peek(slot) !== entry) {
      if (this.#slots.get(key) === slot && !this.#lru.has(slot)) {
        // lru-cache dropped the old entry with reason 'set' (as an overwrite): uncount it here.
        this.#bytes -= slot.size
        slot.size = 0
        slot.entry = undefined
        this.#slots.delete(key)
      }
      return
    }
    this.#bytes += counted - slot.size
    slot.size = counted
    slot.entry = entry
    // From a fresh reading: the kept one may be older than a millisecond (a busy loop delays the timer that drops it),
    // and an expiry counted from it would end the entry early. Hits may read an old one: that only keeps it longer.
    slot.until = ttl > 0 ? perf.now() + ttl : 0
    if (entry.tags !== undefined) {
      for (const tag of entry.tags) {
        const keys = this.#byTag.get(tag)
        if (keys === undefined) this.#byTag.set(tag, new Set([key]))
        else keys.add(key)
      }
    }
  }

  /** The entry at `key` without touching its recency (revalidation looks without using). */
  peek(key: string): MemoryEntry | undefined {
    const slot = this.#slots.get(key)
    return slot === undefined || expired(slot) ? undefined : this.#lru.peek(slot)
  }

  /** A snapshot of this namespace's live entries. */
  snapshot(): Array<[string, MemoryEntry]> {
    const out: Array<[string, MemoryEntry]> = []
    for (const [key, slot] of this.#slots) {
      const entry = expired(slot) ? undefined : this.#lru.peek(slot)
      if (entry !== undefined) out.push([key, entry])
    }
    return out
  }

  /** Milliseconds left before `key` expires from L1 (Infinity for no expiry, 0 when absent or expired). */
  remainingTtl(key: string): number {
    const slot = this.#slots.get(key)
    if (slot === undefined || !this.#lru.has(slot)) return 0
    return slot.until === 0 ? Number.POSITIVE_INFINITY : Math.max(0, slot.until - perf.now())
  }

  /** The encoded size `key` was installed with (0 when absent). */
  sizeOf(key: string): number {
    const slot = this.#slots.get(key)
    return slot === undefined || slot.size === 0 ? 0 : slot.size - ENTRY_OVERHEAD
  }

  delete(key: string): void {
    const slot = this.#slots.get(key)
    if (slot !== undefined) this.#lru.delete(slot)
  }

  /** Drops every entry carrying one of `tags`; returns how many went. Costs what it drops (a tag index), not a scan. */
  deleteTagged(tags: Iterable<string>): number {
    const doomed = new Set<string>()
    for (const tag of tags) for (const key of this.#byTag.get(tag) ?? []) doomed.add(key)
    for (const key of doomed) this.delete(key)
    return doomed.size
  }

  /** Tags with entries in the index (a diagnostic: it never outgrows L1). */
  get indexedTags(): number {
    return this.#byTag.size
  }

  /** Drops every entry of this namespace (the other namespaces keep theirs). */
  clear(): void {
    for (const slot of [...this.#slots.values()]) this.#lru.delete(slot)
  }

  /** Entries of this namespace (expired ones count until they are looked at, as in lru-cache). */
  get entries(): number {
    return this.#slots.size
  }

  /** Counted bytes of this namespace. */
  get bytes(): number {
    return this.#bytes
  }

  /** @internal The shared LRU let go of `entry` (`overwritten`: a new entry took its place under the same slot). */
  released(slot: Slot, entry: MemoryEntry, overwritten: boolean): void {
    if (entry.tags !== undefined) this.#unindex(slot.key, entry.tags)
    if (overwritten) return
    this.#bytes -= slot.size
    slot.size = 0
    slot.entry = undefined
    if (this.#slots.get(slot.key) === slot) this.#slots.delete(slot.key)
  }

  #unindex(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#byTag.get(tag)
      if (keys === undefined) continue
      keys.delete(key)
      if (keys.size === 0) this.#byTag.delete(tag)
    }
  }
}

/** True once the entry in `slot` is past its L1 expiry (it is then a miss, and gone at its next `get`). */
function expired(slot: Slot): boolean {
  return slot.until !== 0 && slot.until <= clock()
}
