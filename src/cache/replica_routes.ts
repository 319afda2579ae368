/**
 * Which L2 reads may go to a replica (`l2.replicas`; README, "Reads from replicas"). A replica applies a write some
 * time after the primary acknowledged it, and the bus announces the write with it: a node that hears an
 * invalidation and refills L1 from a replica at once could install the old value for its L1 TTL. So after any
 * invalidation this node sees (a key: its own write or one heard on the bus; a tag or `clear` of a namespace; a
 * fence of everything: the bus coming back, a revalidation), reads of what it touched go to the primary for
 * `lag` ms; while the bus is down, every read does. Fed by {@link Fences} (every invalidation passes through it).
 * Memory: one map entry per key invalidated within the last `lag` ms, dropped oldest first as time passes.
 * @internal
 */
export class ReplicaRoutes {
  /** How long after an invalidation reads stay on the primary (ms). */
  readonly lag: number
  /** Full key → until when its reads go to the primary; insertion order is time order (the lag is fixed). */
  readonly #keys = new Map<string, number>()
  /** Namespace prefix → until when reads of that namespace go to the primary (a tag invalidation or `clear`). */
  readonly #prefixes = new Map<string, number>()
  #allUntil = 0
  /** True while this node may not hear invalidations (its bus is down): every read goes to the primary. */
  readonly #deaf: () => boolean

  constructor(lag: number, deaf: () => boolean) {
    this.lag = lag
    this.#deaf = deaf
  }

  /** Full key `k` changed: its reads go to the primary for `lag`. */
  key(k: string): void {
    const now = Date.now()
    this.#keys.delete(k)
    this.#keys.set(k, now + this.lag)
    for (const [key, until] of this.#keys) {
      if (until > now) break
      this.#keys.delete(key)
    }
  }

  /** Entries of the namespace at `prefix` changed (tags, clear): its reads go to the primary for `lag`. */
  prefix(prefix: string): void {
    this.#prefixes.set(prefix, Date.now() + this.lag)
  }

  /** Anything may have changed: every read goes to the primary for `lag`. */
  all(): void {
    this.#allUntil = Date.now() + this.lag
  }

  /** Keys remembered (a diagnostic: those invalidated within the last `lag` ms, and at most one more). */
  get tracked(): number {
    return this.#keys.size
  }

  /** True when a read of full key `k` (of the namespace at `prefix`) may go to the replica now. */
  allows(k: string, prefix: string): boolean {
    const now = Date.now()
    if (now < this.#allUntil || this.#deaf()) return false
    if (this.#prefixes.size > 0) {
      const until = this.#prefixes.get(prefix)
      if (until !== undefined) {
        if (now < until) return false
        this.#prefixes.delete(prefix)
      }
    }
    const until = this.#keys.get(k)
    return until === undefined || until <= now
  }
}
