/**
 * Invalidations whose PUBLISH failed, waiting to be retried. Bounded, and keyed by what they
 * invalidate, so that it keeps the newest message per key: a key changed twice while Redis was
 * unreachable is announced once. A namespace clear makes that namespace's pending keys and tags
 * pointless and replaces them. When the bound is reached, the namespace of the oldest pending
 * item is collapsed into one clear: coarser for the other nodes (they drop that namespace's
 * L1), but no invalidation is ever lost. So it holds at most `max` entries, or one clear per
 * namespace when there are more namespaces than that.
 * @internal
 */
import type { MessageKind } from './message.js'

export interface PendingBatch {
  namespace: string
  kind: MessageKind
  items: string[]
}

interface Pending {
  namespace: string
  kind: MessageKind
  item: string
}

export class PublishQueue {
  readonly #max: number
  /** Insertion-ordered: the first entry is the oldest. */
  readonly #pending = new Map<string, Pending>()
  readonly #cleared = new Set<string>()

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#pending.size + this.#cleared.size
  }

  add(namespace: string, kind: MessageKind, items: readonly string[]): void {
    if (kind === 'clear') return this.#clear(namespace)
    if (this.#cleared.has(namespace)) return
    for (const item of items) {
      const id = `${kind}\u0000${namespace}\u0000${item}`
      this.#pending.delete(id) // re-inserted last: newest
      this.#pending.set(id, { namespace, kind, item })
    }
    while (this.#pending.size > 0 && this.size > this.#max) {
      const oldest = this.#pending.values().next().value
      if (oldest === undefined) break
      this.#clear(oldest.namespace)
    }
  }

  /** Everything pending, grouped into one batch per namespace and kind; the queue is empty afterwards. */
  drain(): PendingBatch[] {
    const batches = new Map<string, PendingBatch>()
    for (const namespace of this.#cleared)
      batches.set(`clear\u0000${namespace}`, { namespace, kind: 'clear', items: [] })
    for (const { namespace, kind, item } of this.#pending.values()) {
      const id = `${kind}\u0000${namespace}`
      const batch = batches.get(id)
      if (batch === undefined) batches.set(id, { namespace, kind, items: [item] })
      else batch.items.push(item)
    }
    this.#pending.clear()
    this.#cleared.clear()
    return [...batches.values()]
  }

  #clear(namespace: string): void {
    for (const [id, pending] of this.#pending) if (pending.namespace === namespace) this.#pending.delete(id)
    this.#cleared.add(namespace)
  }
}
