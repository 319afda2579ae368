/**
 * Liveness: is this process still able to answer? Only the process is checked (its event loop delay), never Redis:
 * a liveness probe that fails with Redis would restart every server during a Redis outage.
 *
 * The delay is measured by a timer of its own (unref'd, every 100 ms): how late each tick fired. The worst of the
 * last second is reported, and a tick overdue right now counts too (the loop may still be catching up).
 */
import { describe, parseDuration, type Duration } from '../seam.js'

/** Options of `livenessHandler` and `fastifyLiveness`. */
export interface LivenessOptions {
  /** Answer 503 when the event loop was blocked longer than this within the last second. @default '1s' */
  maxEventLoopDelay?: Duration
}

/** What a liveness check found. */
export interface LivenessReport {
  status: 'ok' | 'down'
  httpStatus: 200 | 503
  body: { status: 'ok' | 'down'; eventLoopDelayMs: number }
}

const TICK = 100
const WINDOW = 10 // ticks: one second

let timer: NodeJS.Timeout | undefined
let expected = 0
const delays: number[] = []

function startMonitor(): void {
  if (timer !== undefined) return
  expected = performance.now() + TICK
  timer = setInterval(() => {
    const now = performance.now()
    delays.push(Math.max(0, now - expected))
    if (delays.length > WINDOW) delays.shift()
    expected = now + TICK
  }, TICK)
  timer.unref()
}

/** The worst event loop delay of the last second (ms), counting a tick overdue now. */
export function eventLoopDelay(): number {
  startMonitor()
  let worst = Math.max(0, performance.now() - expected)
  for (const delay of delays) if (delay > worst) worst = delay
  return Math.round(worst)
}

/** A liveness check with its options validated. @throws TypeError naming the bad value. */
export function livenessCheck(options: LivenessOptions = {}): () => LivenessReport {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const max = parseDuration(options.maxEventLoopDelay ?? '1s', 'maxEventLoopDelay')
  startMonitor()
  return () => {
    const eventLoopDelayMs = eventLoopDelay()
    const status = eventLoopDelayMs > max ? 'down' : 'ok'
    return { status, httpStatus: status === 'ok' ? 200 : 503, body: { status, eventLoopDelayMs } }
  }
}
