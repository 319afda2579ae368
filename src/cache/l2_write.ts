/**
 * What happens when a Redis write fails, in one place for every write of the core (`set`, `setMany`,
 * `getOrSet` fills, `delete`, `expire`, `clear`, `incr`, `invalidateTags`): the failure is reported
 * (`l2:error`), the change is announced when its command may have landed anyway (unless the command
 * carries its own announcement), and the call throws or falls back as its policy says. The pattern
 * of bentocache's `RemoteCache#tryCacheOperation`. See ARCHITECTURE.md, "Redis fails".
 * @internal
 */
import { CacheError, L2UnavailableError } from '../errors.js'
import { wrapError } from '../redis/connection.js'
import type { RedisTier } from '../tiers/redis_tier.js'
import type { CacheContext } from './context.js'
import { reportL2Error } from './reporting.js'

/**
 * When a failed write rejects: `'onWriteError'` follows the cache's `l2.onWriteError`; `'always'` for
 * writes with no local fallback (counters); `'never'` for writes the caller does not wait on the
 * outcome of (a `getOrSet` fill returns its value either way).
 */
export type ThrowPolicy = 'onWriteError' | 'always' | 'never'

export interface WriteFailureHandling<T> {
  /** The `operation` of the `l2:error` event. */
  operation: string
  /** The caller's key, when the write is about one key. */
  key?: string | undefined
  throws: ThrowPolicy
  /** Runs before the error is rethrown (this node's L1 must stop answering for what Redis may not hold). */
  beforeThrow?: () => void
  /**
   * Announces the change to the other nodes; called when the command failed in a way that may have
   * landed (a timeout). Leave it out when the command carries its own announcement (one Lua call).
   */
  announce?: () => void
  /** What the call resolves with when the failure is not rethrown. */
  fallback: (error: CacheError) => T
}

/** Runs `write` against L2 and applies `handling` when it fails. */
export async function writeToL2<T>(
  ctx: CacheContext,
  handling: WriteFailureHandling<T>,
  write: (l2: RedisTier) => Promise<T>,
): Promise<T> {
  try {
    return await write(ctx.l2 as RedisTier)
  } catch (caught) {
    const error = caught instanceof CacheError ? caught : wrapError(handling.operation, caught)
    reportL2Error(ctx, handling.operation, handling.key, error)
    if (handling.announce !== undefined && mayHaveLanded(error)) handling.announce()
    if (
      handling.throws === 'always' ||
      (handling.throws === 'onWriteError' && ctx.options.l2?.onWriteError === 'throw')
    ) {
      handling.beforeThrow?.()
      throw error
    }
    return handling.fallback(error)
  }
}

/**
 * A command whose reply failed may still have been applied (a timeout, a connection lost after the command
 * was sent): the other nodes are told anyway, since an extra invalidation costs them one miss while a missing one
 * leaves them stale until the TTL. Not when the command was never sent (circuit open).
 */
export function mayHaveLanded(error: unknown): boolean {
  return !(error instanceof L2UnavailableError)
}
