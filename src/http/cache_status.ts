/**
 * `X-Cache` and RFC 9211 `Cache-Status` values. One cache (this one) adds one list member:
 * `tiercache; hit; ttl=42` for a fresh hit, `ttl` negative for a stale one, `fwd=miss; stored`
 * for a miss that was stored, `fwd=miss; collapsed` for a request that waited on another's render,
 * `fwd=stale; fwd-status=500` for a stale page served because the re-render failed,
 * `fwd=bypass; detail=cookie` for a request the cache does not serve.
 */
import type { Page } from './page.js'
import type { Labels } from './serve.js'

export type XCache = 'HIT-L1' | 'HIT-L2' | 'MISS' | 'STALE' | 'BYPASS'

/** Remaining freshness in whole seconds (negative once stale). */
export function ttlOf(page: Page, now: number): number {
  return Math.floor((page.storedAt + page.fresh - now) / 1000)
}

/** The labels for a response, or undefined when the route sends no status headers. */
export function label(
  statusHeaders: boolean,
  name: string,
  xCache: XCache,
  params: ReadonlyArray<string | false | undefined>,
): Labels | undefined {
  if (!statusHeaders) return undefined
  let cacheStatus = name
  for (const param of params) if (param) cacheStatus += `; ${param}`
  return { xCache, cacheStatus }
}
