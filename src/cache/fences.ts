/**
 * Fences against the promotion race (ARCHITECTURE.md, "The contract", point 4): a read or factory call that
 * started before an invalidation of its key must not install its (older) result in L1
 * afterwards. Each read takes a ticket; an invalidation of the key (or of everything) moves
 * the key's epoch on; a ticket whose epoch moved is stale and its result is not installed.
 * Only keys with reads in flight are tracked, so the map stays as small as the work in flight.
 *
 * Tag invalidations do not move key epochs (a read cannot know its entry's tags before it has read
 * it): they are logged (the last {@link TAG_LOG} of them, with an epoch of their own), and a result is
 * checked against the log once its tags are known (`validFor`). An untagged result, or one whose tags
 * were not invalidated, is not fenced by them; when the log no longer reaches back far enough, every
 * tagged result is.
 * @internal
 */

import type { ReplicaRoutes } from './replica_routes.js'

/** How many tag invalidations are remembered for `validFor`. */
const TAG_LOG = 256

interface TagInvalidation {
  readonly epoch: number
  /** The namespace's key prefix. */
  readonly prefix: string
  readonly tags: ReadonlySet<string>
}
interface Fence {
  refs: number
  epoch: number
}

export interface Ticket {
  readonly fence: Fence
  readonly key: string
  readonly epoch: number
  readonly global: number
  readonly tagEpoch: number
}

export class Fences {
  /** Told of every invalidation, to keep refills of what changed off lagging replicas (`l2.replicas`). */
  readonly #routes: ReplicaRoutes | undefined
  readonly #byKey = new Map<string, Fence>()
  #global = 0
  #tagEpoch = 0
  readonly #tagLog: TagInvalidation[] = []

  constructor(routes?: ReplicaRoutes) {
    this.#routes = routes
  }

  enter(key: string): Ticket {
    let fence = this.#byKey.get(key)
    if (fence === undefined) this.#byKey.set(key, (fence = { refs: 0, epoch: 0 }))
    fence.refs++
    return { fence, key, epoch: fence.epoch, global: this.#global, tagEpoch: this.#tagEpoch }
  }

  /** True while nothing invalidated the ticket's key (or everything) since the ticket was taken. */
  valid(ticket: Ticket): boolean {
    return ticket.fence.epoch === ticket.epoch && ticket.global === this.#global
  }

  /** `valid`, and none of `tags` (of the namespace at `prefix`) was invalidated since the ticket was taken. */
  validFor(ticket: Ticket, prefix: string, tags: readonly string[] | undefined): boolean {
    if (!this.valid(ticket)) return false
    if (ticket.tagEpoch === this.#tagEpoch || tags === undefined || tags.length === 0) return true
    return this.#tagsQuiet(ticket, (entry) => entry.prefix === prefix && tags.some((tag) => entry.tags.has(tag)))
  }

  /** No tag of the namespace at `prefix` was invalidated since the ticket was taken. */
  tagsQuietSince(ticket: Ticket, prefix: string): boolean {
    return ticket.tagEpoch === this.#tagEpoch || this.#tagsQuiet(ticket, (entry) => entry.prefix === prefix)
  }

  #tagsQuiet(ticket: Ticket, touches: (entry: TagInvalidation) => boolean): boolean {
    const oldest = this.#tagLog[0]
    if (oldest === undefined || oldest.epoch > ticket.tagEpoch + 1) return false // the log does not reach back
    for (const entry of this.#tagLog) if (entry.epoch > ticket.tagEpoch && touches(entry)) return false
    return true
  }

  leave(ticket: Ticket): void {
    if (--ticket.fence.refs === 0) this.#byKey.delete(ticket.key)
  }

  invalidate(key: string): void {
    this.#routes?.key(key)
    const fence = this.#byKey.get(key)
    if (fence !== undefined) fence.epoch++
  }

  invalidateAll(): void {
    this.#routes?.all()
    this.#global++
  }

  /** `tags` of the namespace at `prefix` were invalidated: tagged results carrying one of them are fenced. */
  invalidateTags(prefix: string, tags: Iterable<string>): void {
    this.#routes?.prefix(prefix)
    this.#tagLog.push({ epoch: ++this.#tagEpoch, prefix, tags: new Set(tags) })
    if (this.#tagLog.length > TAG_LOG) this.#tagLog.shift()
  }

  /** Keys with reads in flight (a diagnostic: it stays as small as the work in flight). */
  get size(): number {
    return this.#byKey.size
  }
}
