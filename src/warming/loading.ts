/**
 * What happens to the keys of a run once they are dispatched: one `load` per key or one `loadMany` per
 * batch, each attempt with its timeout, retried with backoff, then the values written through the cache
 * (retried too when Redis fails), and every outcome counted and reported. A load holds one of the run's
 * `concurrency` slots (what the database sees); its write does not, so the next loads start while Redis
 * writes, and values from many loads share one `setMany`.
 *
 * A stopped run (cancelled, lease lost) makes no further retry; what is in flight still finishes, and a
 * batch is written whole or not at all: nothing is half-written.
 */
import { isL2Failure } from '../index.js'
import { describe } from '../seam.js'
import type { LoadContext, WarmJob } from './job.js'
import type { WarmItemEvent } from './options.js'
import { backoff, callWithTimeout, sleep } from './retry.js'
import type { Tally } from './tally.js'
import type { WarmEntry, WarmWriter } from './writer.js'

/** A key taken from the source: the item as the source yielded it, and its cache key. */
export interface Taken<T> {
  item: T
  key: string
}

type Attempted<R> = { ok: true; value: R } | { ok: false; error: unknown }

/**
 * Runs a load in one of the run's `concurrency` slots, once the rate allows; `ran: false` when the run stopped
 * before it could start (the key is then not counted: it was never loaded).
 */
export type Slot = <R>(load: () => Promise<R>) => Promise<{ ran: true; value: R } | { ran: false }>

interface Loaded<T> {
  taken: Taken<T>
  entry: WarmEntry
}

export interface LoadingContext<T, V> {
  job: WarmJob<T, V>
  tally: Tally
  writer: WarmWriter
  /** Aborted when the run stops: no more retries. */
  halted: AbortSignal
  /** Reports one key's outcome (to `onItem`). */
  emit: ((event: WarmItemEvent) => void) | undefined
}

export class Loading<T, V> {
  readonly #c: LoadingContext<T, V>

  constructor(context: LoadingContext<T, V>) {
    this.#c = context
  }

  /** `load` for one key (in a slot), then its write (after the slot is given back). */
  async one(taken: Taken<T>, slot: Slot): Promise<void> {
    const { job, tally } = this.#c
    const load = job.load as NonNullable<WarmJob<T, V>['load']>
    const loaded = await slot(() => {
      tally.inFlight++
      return this.#retrying((attempt) =>
        callWithTimeout((context: LoadContext) => load(taken.item, context), taken.key, job.timeout, attempt),
      )
    })
    if (!loaded.ran) return
    try {
      if (!loaded.value.ok) return this.failed(taken.key, loaded.value.error)
      const entries = this.#entries([taken], [loaded.value.value])
      await this.#write(entries, (batch) => Promise.all(batch.map((entry) => this.#c.writer.write(entry))))
    } finally {
      tally.inFlight--
    }
  }

  /** `loadMany` for a batch of keys (in a slot), then one write of their values (after the slot is given back). */
  async many(batch: ReadonlyArray<Taken<T>>, slot: Slot): Promise<void> {
    const { job, tally } = this.#c
    const loadMany = job.loadMany as NonNullable<WarmJob<T, V>['loadMany']>
    const items = batch.map((taken) => taken.item)
    const first = (batch[0] as Taken<T>).key
    const loaded = await slot(() => {
      tally.inFlight += batch.length
      return this.#retrying((attempt) =>
        callWithTimeout((context: LoadContext) => loadMany(items, context), first, job.timeout, attempt, items.length),
      )
    })
    if (!loaded.ran) return
    try {
      if (!loaded.value.ok) {
        for (const taken of batch) this.failed(taken.key, loaded.value.error)
        return
      }
      const values = valuesOf<T, V>(loaded.value.value, items, job.name)
      if (values instanceof TypeError) {
        for (const taken of batch) this.failed(taken.key, values)
        return
      }
      const entries = this.#entries(batch, values)
      await this.#write(entries, (pending) => this.#c.writer.writeMany(pending))
    } finally {
      tally.inFlight -= batch.length
    }
  }

  skipped(key: string, reason: 'present' | 'fresh' | 'empty'): void {
    this.#c.tally.skippedBy[reason]++
    this.#c.emit?.({ key, status: 'skipped', reason })
  }

  failed(key: string, error: unknown): void {
    this.#c.tally.fail(key, error)
    this.#c.emit?.({ key, status: 'failed', error })
  }

  /** The entries to write for the values loaded; counts the keys with nothing to cache (or bad tags). */
  #entries(batch: ReadonlyArray<Taken<T>>, values: ReadonlyArray<V | undefined>): Array<Loaded<T>> {
    const { job } = this.#c
    const out: Array<Loaded<T>> = []
    for (let i = 0; i < batch.length; i++) {
      const taken = batch[i] as Taken<T>
      const value = values[i]
      if (value === undefined) {
        this.skipped(taken.key, 'empty')
        continue
      }
      try {
        const tags = typeof job.tags === 'function' ? job.tags(value, taken.item) : job.tags
        const ttl =
          job.ttl === undefined ? undefined : Math.max(1, Math.round(job.ttl * (1 - Math.random() * job.jitter)))
        out.push({ taken, entry: { key: taken.key, value, ttl, tags } })
      } catch (error) {
        this.failed(taken.key, error)
      }
    }
    return out
  }

  /** Writes `loaded` with `send`, retrying the entries Redis failed for. */
  async #write(loaded: Array<Loaded<T>>, send: (entries: WarmEntry[]) => Promise<unknown[]>): Promise<void> {
    const { job, tally, halted, emit } = this.#c
    let pending = loaded
    for (let attempt = 1; pending.length > 0; attempt++) {
      const errors = await send(pending.map((l) => l.entry))
      const retry: Array<Loaded<T> & { error: unknown }> = []
      for (let i = 0; i < pending.length; i++) {
        const loaded = pending[i] as Loaded<T>
        const error = errors[i]
        if (error === undefined) {
          tally.warmed++
          emit?.({ key: loaded.taken.key, status: 'warmed' })
        } else if (isL2Failure(error) && attempt <= job.retries && !halted.aborted) retry.push({ ...loaded, error })
        else this.failed(loaded.taken.key, error)
      }
      if (retry.length > 0 && !(await sleep(backoff(attempt, job.retryDelay), halted))) {
        for (const { taken, error } of retry) this.failed(taken.key, error)
        return
      }
      pending = retry
    }
  }

  /** Runs `attempt` until it succeeds, `retries` are spent, or the run stops. */
  async #retrying<R>(attempt: (n: number) => Promise<R>): Promise<Attempted<R>> {
    const { job, halted } = this.#c
    for (let n = 1; ; n++) {
      try {
        return { ok: true, value: await attempt(n) }
      } catch (error) {
        if (n > job.retries || !(await sleep(backoff(n, job.retryDelay), halted))) return { ok: false, error }
      }
    }
  }
}

/** The values of a `loadMany` result in the order of `items`, or the TypeError saying why it is not one. */
function valuesOf<T, V>(result: unknown, items: readonly T[], job: string): Array<V | undefined> | TypeError {
  if (result instanceof Map) return items.map((item) => result.get(item) as V | undefined)
  if (Array.isArray(result) && result.length === items.length) return result as Array<V | undefined>
  const got = Array.isArray(result) ? `an array of ${result.length}` : describe(result)
  return new TypeError(
    `Expected \`loadMany\` of job "${job}" to return a Map or an array of ${items.length} values, got ${got}`,
  )
}
