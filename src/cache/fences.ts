/**
 * Fences against the promotion race (DESIGN.md, contract point 4): a read or factory call that
 * started before an invalidation of its key must not install its (older) result in L1
 * afterwards. Each read takes a ticket; an invalidation of the key (or of everything) moves
 * the key's epoch on; a ticket whose epoch moved is stale and its result is not installed.
 * Only keys with reads in flight are tracked, so the map stays as small as the work in flight.
 * @internal
 */
interface Fence {
  refs: number
  epoch: number
}

export interface Ticket {
  readonly fence: Fence
  readonly key: string
  readonly epoch: number
  readonly global: number
}

export class Fences {
  readonly #byKey = new Map<string, Fence>()
  #global = 0

  enter(key: string): Ticket {
    let fence = this.#byKey.get(key)
    if (fence === undefined) this.#byKey.set(key, (fence = { refs: 0, epoch: 0 }))
    fence.refs++
    return { fence, key, epoch: fence.epoch, global: this.#global }
  }

  /** True while nothing invalidated the ticket's key since the ticket was taken. */
  valid(ticket: Ticket): boolean {
    return ticket.fence.epoch === ticket.epoch && ticket.global === this.#global
  }

  leave(ticket: Ticket): void {
    if (--ticket.fence.refs === 0) this.#byKey.delete(ticket.key)
  }

  invalidate(key: string): void {
    const fence = this.#byKey.get(key)
    if (fence !== undefined) fence.epoch++
  }

  invalidateAll(): void {
    this.#global++
  }

  /** Keys with reads in flight (for tests and diagnostics). */
  get size(): number {
    return this.#byKey.size
  }
}
