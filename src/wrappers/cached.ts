/**
 * `cached(cache, fn, options)`: `fn` behind `cache.getOrSet`, keyed by a name plus a stable
 * encoding of the arguments (or by `options.key`). The wrapper keeps `fn`'s parameters, result
 * type and `this`, and adds `invalidate`, `refresh` and `peek` for given arguments.
 */
import type { Cache, GetOrSetOptions } from '../index.js'
import { checkGetOrSetOptions, describe } from '../seam.js'
import { argumentsKey } from './key.js'

/**
 * `A`, kept out of inference: the arguments come from `fn` alone, not from a `key` or `tags`
 * callback that declares fewer parameters. (`NoInfer` breaks assignability of such callbacks.)
 */
export type NoInferArgs<A extends unknown[]> = [A][A extends unknown ? 0 : never]

/** Options of `cached()`: those of `getOrSet`, plus how calls become keys. */
export interface CachedOptions<A extends unknown[], V, This = unknown> extends Omit<GetOrSetOptions<V>, 'tags'> {
  /**
   * First part of every key (`<name>(<encoded arguments>)`). Give one when two wrapped functions
   * share a name, or when the function has none.
   * @default `fn.name`
   */
  name?: string
  /**
   * Builds the whole key from the arguments (and `this`), instead of `name` plus the arguments.
   * @default `<name>(<stable encoding of the arguments>)`
   */
  key?: (this: This, ...args: A) => string
  /**
   * Tags of each entry: fixed, or computed from the result and the arguments.
   * @default none
   */
  tags?: readonly string[] | ((this: This, result: V, ...args: A) => readonly string[])
}

/** A wrapped function: `fn`'s parameters and `this`, its result awaited, plus key-level helpers. */
export type CachedFunction<A extends unknown[], V, This = unknown> = ((this: This, ...args: A) => Promise<V>) & {
  /** Removes the cached result for these arguments (every tier, every node). Resolves with whether it existed. */
  invalidate(this: This, ...args: A): Promise<boolean>
  /** Runs `fn` now for these arguments and caches its result, whatever is cached. */
  refresh(this: This, ...args: A): Promise<V>
  /** The cached result for these arguments, or `undefined`; never runs `fn`. */
  peek(this: This, ...args: A): Promise<V | undefined>
  /** The cache key these arguments map to. */
  keyFor(this: This, ...args: A): string
}

/**
 * Caches `fn` in `cache`. Concurrent calls with equal arguments share one run of `fn`; results
 * follow `options` (ttl, tags, grace, timeouts, refresh ahead, lock, see `GetOrSetOptions`).
 *
 * ```ts
 * const getUser = cached(cache, loadUser, { ttl: '5m', key: (id) => `user:${id}` })
 * const user = await getUser(42)
 * await getUser.invalidate(42)
 * ```
 * @throws TypeError when `fn` is not a function, it has no name and neither `name` nor `key` is given, or an
 * option is invalid.
 */
export function cached<A extends unknown[], R, This = unknown>(
  cache: Cache,
  fn: (this: This, ...args: A) => R,
  options?: CachedOptions<NoInferArgs<A>, NoInfer<Awaited<R>>, NoInfer<This>>,
): CachedFunction<A, Awaited<R>, This> {
  type V = Awaited<R>
  if (typeof fn !== 'function') throw new TypeError(`Expected \`fn\` to be a function, got ${describe(fn)}`)
  if (typeof cache?.getOrSet !== 'function')
    throw new TypeError(`Expected \`cache\` to be a Cache, got ${describe(cache)}`)
  const { name: nameOption, key: keyOption, tags: tagsOption, ...rest } = options ?? {}
  if (keyOption !== undefined && typeof keyOption !== 'function')
    throw new TypeError(`Expected \`key\` to be a function returning a string, got ${describe(keyOption)}`)
  const name = nameOption ?? fn.name
  if (keyOption === undefined && (typeof name !== 'string' || name.length === 0))
    throw new TypeError(`Expected \`name\` (or \`key\`) for an anonymous function, got ${describe(nameOption)}`)
  // Validate the options once, now, rather than on the first miss.
  checkGetOrSetOptions({ ...rest, tags: typeof tagsOption === 'function' ? undefined : tagsOption })

  const keyFor = function (this: This, ...args: A): string {
    if (keyOption === undefined) return argumentsKey(name, args)
    const key = keyOption.apply(this, args)
    if (typeof key !== 'string') throw new TypeError(`Expected \`key\` to return a string, got ${describe(key)}`)
    return key
  }
  const optionsFor = (self: This, args: A): GetOrSetOptions<V> =>
    typeof tagsOption === 'function'
      ? { ...rest, tags: (result: V) => tagsOption.call(self, result, ...args) }
      : { ...rest, tags: tagsOption }

  const wrapped = async function (this: This, ...args: A): Promise<V> {
    const key = keyFor.apply(this, args)
    return cache.getOrSet<V>(key, () => fn.apply(this, args) as V | Promise<V>, optionsFor(this, args))
  } as CachedFunction<A, V, This>
  wrapped.keyFor = keyFor
  wrapped.invalidate = async function (this: This, ...args: A): Promise<boolean> {
    return cache.delete(keyFor.apply(this, args))
  }
  wrapped.peek = async function (this: This, ...args: A): Promise<V | undefined> {
    return cache.get<V>(keyFor.apply(this, args))
  }
  wrapped.refresh = async function (this: This, ...args: A): Promise<V> {
    const key = keyFor.apply(this, args)
    return cache.getOrSet<V>(key, () => fn.apply(this, args) as V | Promise<V>, {
      ...optionsFor(this, args),
      forceFresh: true,
    })
  }
  Object.defineProperty(wrapped, 'name', { value: `cached ${typeof name === 'string' && name !== '' ? name : 'fn'}` })
  return wrapped
}
