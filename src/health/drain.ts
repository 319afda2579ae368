/** Draining on a signal: readiness fails first, the process ends later, as it would have. */
import { describe, parseDuration, type Duration } from '../seam.js'
import { beginShutdown } from './check.js'

/** Options of `drainOnSignal`. */
export interface DrainOptions {
  /** The signals to drain on. @default ['SIGTERM'] */
  signals?: readonly NodeJS.Signals[]
  /**
   * How long readiness answers 503 before `close` runs: at least the load balancer's check interval times its
   * failure threshold (Kubernetes: `periodSeconds` × `failureThreshold` of the readiness probe). @default '5s'
   */
  delay?: Duration
  /** What to close once drained (the server, then the caches). Its errors go to `onError`. */
  close?: () => unknown
  /** Where an error of `close` goes. @default writes it to stderr */
  onError?: (error: unknown) => void
}

/**
 * On the first of `signals`: readiness answers 503 (`beginShutdown()`), then after `delay` `close` runs, then the
 * signal is raised again so the process ends as it would have without this (its exit status says which signal; other
 * listeners of that signal, if the app has any, decide instead).
 * Returns a function that stops listening.
 * @throws TypeError naming the bad value.
 */
export function drainOnSignal(options: DrainOptions = {}): () => void {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const signals = options.signals ?? ['SIGTERM']
  if (
    !Array.isArray(signals) ||
    signals.length === 0 ||
    !signals.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s))
  )
    throw new TypeError(
      `Expected \`signals\` to be an array of signal names such as 'SIGTERM', got ${describe(signals)}`,
    )
  const delay = parseDuration(options.delay ?? '5s', 'delay', true)
  const { close, onError = report } = options
  if (close !== undefined && typeof close !== 'function')
    throw new TypeError(`Expected \`close\` to be a function, got ${describe(close)}`)
  if (typeof onError !== 'function')
    throw new TypeError(`Expected \`onError\` to be a function, got ${describe(onError)}`)

  const stop = (): void => {
    for (const signal of signals) process.off(signal, onSignal)
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    stop()
    beginShutdown()
    setTimeout(() => {
      void (async () => {
        try {
          await close?.()
        } catch (error) {
          onError(error)
        }
        process.kill(process.pid, signal)
      })()
    }, delay)
  }
  for (const signal of signals) process.on(signal, onSignal)
  return stop
}

function report(error: unknown): void {
  process.stderr.write(
    `tiercache/health: close() failed while draining: ${(error as Error)?.message ?? String(error)}\n`,
  )
}
