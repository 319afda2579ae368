/**
 * Operational failures of the warming runner, in the house pattern (src/errors.ts): a class and a
 * literal `code` each, a message built from its fields. Misuse (a bad option, a job without a
 * loader) is a `TypeError` naming the value.
 */
import { CacheError } from '../index.js'

/** Another run of the same job (and shard) holds its lease: one run per job at a time across all servers. */
export class WarmLeaseHeldError extends CacheError {
  static override readonly code = 'E_WARM_LEASE_HELD'
  declare readonly code: 'E_WARM_LEASE_HELD'
  constructor(
    readonly job: string,
    /** `'i/n'`: the shard whose lease is held (`'0/1'` for an unsharded run). */
    readonly shard: string,
    /** How long the holder's lease has left unless it renews it (ms), when known. */
    readonly expiresIn: number | undefined,
    /** How long this run waited for the lease before giving up (ms); 0 when it did not wait. */
    readonly waited: number,
  ) {
    const left =
      expiresIn === undefined || expiresIn < 0 ? '' : `: its lease expires in ${formatMs(expiresIn)} unless renewed`
    const after = waited > 0 ? ` (gave up after waiting ${formatMs(waited)})` : ''
    super(`Job "${job}" shard ${shard} is already running elsewhere${left}${after}`)
  }
}

/** One `load` (or `loadMany`) call did not settle within the job's `timeout`. The attempt counts as failed. */
export class WarmTimeoutError extends CacheError {
  static override readonly code = 'E_WARM_TIMEOUT'
  declare readonly code: 'E_WARM_TIMEOUT'
  constructor(
    /** The key loaded (for `loadMany`, the first of the batch). */
    readonly key: string,
    readonly timeout: number,
    /** How many keys the call was loading: 1 for `load`. */
    readonly keys = 1,
  ) {
    super(
      keys === 1
        ? `Loading "${key}" did not settle within ${timeout} ms`
        : `loadMany of ${keys} keys did not settle within ${timeout} ms`,
    )
  }
}

/** A warm config could not be used: the file is missing, does not load, or exports no jobs. */
export class WarmConfigError extends CacheError {
  static override readonly code = 'E_WARM_CONFIG'
  declare readonly code: 'E_WARM_CONFIG'
  constructor(
    readonly file: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${problem}`, options)
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
}
