/**
 * Where a `Cache` keeps its namespace's scope for the two readers that may see it: the seam
 * (src/seam.ts, for the parts built on the core) and tests (`unsafeExposeInternals`). A `Cache`
 * object carries no internal member of its own.
 * @internal
 */
import { describe } from '../internal/describe.js'
import type { Cache } from './cache.js'
import type { CacheContext, Scope } from './context.js'

const scopes = new WeakMap<Cache, Scope>()

export function registerScope(cache: Cache, scope: Scope): void {
  scopes.set(cache, scope)
}

/** The scope of a cache made by `createCache()` (or `namespace()`). @throws TypeError for anything else. */
export function scopeOf(cache: Cache): Scope {
  const scope = scopes.get(cache)
  if (scope === undefined) throw new TypeError(`Expected a cache made by createCache(), got ${describe(cache)}`)
  return scope
}

/** What tests may look at behind a cache's back (lru-cache's `unsafeExposeInternals`). */
export interface CacheInternals {
  readonly scope: Scope
  readonly ctx: CacheContext
  readonly l1: Scope['l1']
  readonly l2: CacheContext['l2']
}

/**
 * Test hook: the internals of `cache` (its namespace's scope and L1, the shared context and L2).
 * Not part of the API: nothing outside tests may call it.
 * @internal
 */
export function unsafeExposeInternals(cache: Cache): CacheInternals {
  const scope = scopeOf(cache)
  return { scope, ctx: scope.ctx, l1: scope.l1, l2: scope.ctx.l2 }
}
