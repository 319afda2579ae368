/**
 * One loader call with its timeout, the backoff between attempts, and an abortable sleep.
 *
 * A call that times out fails at once for its caller (its signal is aborted, so a loader that passes it on
 * stops), but its slot is only given back when the call settles, or one more `timeout` later at the latest:
 * `concurrency` stays a bound on the calls your database sees, and a call that hangs for ever cannot hang the run.
 */
import { WarmTimeoutError } from './errors.js'
import type { LoadContext } from './job.js'

/** The longest wait between two attempts. */
export const MAX_RETRY_DELAY = 30_000

/**
 * Calls `fn` with a signal that aborts after `timeout` ms (0: never). Rejects with `WarmTimeoutError` on
 * timeout, after the call settled or a second `timeout` passed; otherwise settles as the call does.
 */
export async function callWithTimeout<R>(
  fn: (context: LoadContext) => R | Promise<R>,
  key: string,
  timeout: number,
  attempt: number,
  keys = 1,
): Promise<R> {
  // The AbortController is made only if the loader reads `signal`: creating one costs more than a 0 ms load.
  let controller: AbortController | undefined
  let reason: WarmTimeoutError | undefined = undefined
  const context: LoadContext = {
    attempt,
    get signal() {
      if (timeout === 0) return NEVER
      if (controller === undefined) {
        controller = new AbortController()
        if (reason !== undefined) controller.abort(reason)
      }
      return controller.signal
    },
  }
  const call = new Promise<R>((resolve) => resolve(fn(context)))
  if (timeout === 0) return call
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, timeout, 'timeout')))
  try {
    const first = await Promise.race([call, timedOut])
    if (first !== 'timeout') return first
  } finally {
    clearTimeout(timer)
  }
  reason = new WarmTimeoutError(key, timeout, keys)
  controller?.abort(reason)
  await Promise.race([call.then(noop, noop), sleep(timeout)])
  throw reason
}

/** The signal of a load without a timeout: never aborted. */
const NEVER = new AbortController().signal

/**
 * Wait before attempt `attempt + 1` (attempt 1 failed: `base`; then doubled), with equal jitter: between
 * half and all of it, so that items failing together do not retry together. At most {@link MAX_RETRY_DELAY}.
 */
export function backoff(attempt: number, base: number): number {
  const full = Math.min(MAX_RETRY_DELAY, base * 2 ** (attempt - 1))
  return full / 2 + (Math.random() * full) / 2
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (at once if it already has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function noop(): void {}
