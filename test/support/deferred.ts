/** A promise settled from outside: a factory the test controls, instead of a sleep. */
export interface Deferred<T> {
  promise: Promise<T>
  resolve(value: T): void
  reject(error: unknown): void
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Resolves with the next payload of `name` emitted by `cache`. */
export function nextEvent<P>(
  cache: { on(name: never, listener: never): unknown; off(name: never, listener: never): unknown },
  name: string,
): Promise<P> {
  return new Promise<P>((resolve) => {
    const on = cache.on as (name: string, listener: (payload: P) => void) => unknown
    const off = cache.off as (name: string, listener: (payload: P) => void) => unknown
    const listener = (payload: P): void => {
      off.call(cache, name, listener)
      resolve(payload)
    }
    on.call(cache, name, listener)
  })
}
