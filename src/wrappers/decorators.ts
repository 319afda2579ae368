/**
 * `@cachedMethod(cache, options)`: caches a class method like `cached()` does a function. Works
 * with TC39 standard decorators (TypeScript 5's default) and with legacy `experimentalDecorators`:
 * the decorator tells them apart by its arguments.
 *
 * The key is `<Class>.<method>(<encoded arguments>)` unless `options.name` or `options.key` says
 * otherwise, so instances of a class share results for equal arguments: key by the instance in
 * `options.key` (it gets `this`) when its state changes the result.
 */
import type { Cache } from '../index.js'
import { describe } from '../internal/describe.js'
import { cached, type CachedFunction, type CachedOptions } from './cached.js'

/** A cache, or a function of the instance returning one (for caches created after the class). */
export type CacheSource = Cache | ((self: unknown) => Cache)

type Method<This, A extends unknown[], R> = (this: This, ...args: A) => R

/** The decorator `cachedMethod` returns: usable in both decorator modes. */
export interface CachedMethodDecorator<A extends unknown[], V> {
  /** TC39 standard decorator. */
  <This, R extends Promise<V>>(
    method: Method<This, A, R>,
    context: ClassMethodDecoratorContext<This, Method<This, A, R>>,
  ): Method<This, A, R>
  /** Legacy `experimentalDecorators`. */
  <T extends Method<never, A, Promise<V>>>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void
}

/**
 * Caches a method's results in `cache`.
 *
 * ```ts
 * class Users {
 *   @cachedMethod(cache, { ttl: '5m' })
 *   async byId(id: number): Promise<User> { return db.user(id) }
 * }
 * ```
 */
export function cachedMethod<A extends unknown[] = never[], V = unknown>(
  cache: CacheSource,
  options?: CachedOptions<A, V>,
): CachedMethodDecorator<A, V> {
  if (typeof cache !== 'function' && typeof (cache as Cache | undefined)?.getOrSet !== 'function')
    throw new TypeError(`Expected \`cache\` to be a Cache or a function returning one, got ${describe(cache)}`)
  return function decorate(...args: unknown[]): unknown {
    const [first, second, third] = args
    if (typeof second === 'object' && second !== null && 'kind' in second) {
      const context = second as ClassMethodDecoratorContext
      if (context.kind !== 'method')
        throw new TypeError(`@cachedMethod decorates methods, not a ${String(context.kind)}`)
      return wrapMethod(first as Method<unknown, A, Promise<V>>, String(context.name), cache, options)
    }
    const descriptor = third as PropertyDescriptor | undefined
    if (descriptor === undefined || typeof descriptor.value !== 'function')
      throw new TypeError(`@cachedMethod decorates methods, got ${describe(descriptor?.value)}`)
    const owner = typeof first === 'function' ? first : (first as object).constructor
    descriptor.value = wrapMethod(
      descriptor.value as Method<unknown, A, Promise<V>>,
      String(second),
      cache,
      options,
      (owner as { name?: string }).name,
    )
  } as CachedMethodDecorator<A, V>
}

function wrapMethod<A extends unknown[], V>(
  method: Method<unknown, A, Promise<V>>,
  methodName: string,
  source: CacheSource,
  options: CachedOptions<A, V> | undefined,
  className?: string,
): Method<unknown, A, Promise<V>> {
  // One wrapper per cache (a source function may pick a cache per instance) and per class name.
  const wrappersByCache = new WeakMap<Cache, Map<string, CachedFunction<A, V, unknown>>>()
  return function (this: unknown, ...args: A): Promise<V> {
    const cache = typeof source === 'function' ? source(this) : source
    const owner = className ?? classNameOf(this)
    let byName = wrappersByCache.get(cache)
    if (byName === undefined) wrappersByCache.set(cache, (byName = new Map()))
    let wrapped = byName.get(owner)
    if (wrapped === undefined) {
      wrapped = cached(cache, method, { name: `${owner}.${methodName}`, ...options })
      byName.set(owner, wrapped)
    }
    return wrapped.apply(this, args)
  }
}

function classNameOf(self: unknown): string {
  if (typeof self === 'function') return self.name
  if (typeof self === 'object' && self !== null)
    return (self.constructor as { name?: string } | undefined)?.name ?? 'Object'
  return 'Function'
}
