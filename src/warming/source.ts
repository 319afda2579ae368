/**
 * Opens a job's key source as one pull iterator, whatever it is (an array, a generator, an async
 * iterable such as a database cursor, or a function returning one). Items are pulled one at a time as
 * the runner has room for them, so a source of millions is never held in memory; a sync source is read
 * without a promise per item. `close()` lets a generator or cursor clean up when a run stops early.
 */
import type { KeySource } from './job.js'

export interface KeyIterator<T> {
  /** The next item; a promise only for async sources. */
  next(): IteratorResult<T> | Promise<IteratorResult<T>>
  /** Closes the source (its `return()`), once, when the run stops before the end. */
  close(): Promise<void>
  /** How many items the source holds, when it is an array (for progress); undefined otherwise. */
  readonly size: number | undefined
}

/** Opens the source: calls it when it is a function. Rejects with what that function throws. */
export async function openKeys<T>(source: KeySource<T>): Promise<KeyIterator<T>> {
  const opened = typeof source === 'function' ? await source() : source
  if (typeof opened !== 'object' || opened === null || typeof opened === 'string')
    throw new TypeError(`Expected \`keys\` to return an array or an (async) iterable, got ${typeof opened}`)
  if (Symbol.asyncIterator in opened) return wrap(opened[Symbol.asyncIterator](), undefined)
  if (Symbol.iterator in opened)
    return wrap((opened as Iterable<T>)[Symbol.iterator](), Array.isArray(opened) ? opened.length : undefined)
  throw new TypeError('Expected `keys` to return an array or an (async) iterable')
}

function wrap<T>(iterator: Iterator<T> | AsyncIterator<T>, size: number | undefined): KeyIterator<T> {
  let finished = false
  return {
    size,
    next() {
      const result = iterator.next()
      if (isThenable(result))
        return Promise.resolve(result).then((r) => {
          if (r.done === true) finished = true
          return r
        })
      if ((result as IteratorResult<T>).done === true) finished = true
      return result as IteratorResult<T>
    },
    async close() {
      if (finished) return
      finished = true
      await iterator.return?.()
    },
  }
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}
