/**
 * A steady, bounded write workload for failover tests: each cache writes fresh keys (`w<n>` = n) one after
 * another, paced, recording when each write was sent and acknowledged, plus every bus state change and every
 * (re)connection of each cache's command connection, so a test can tell which writes landed where and how long
 * writes and the bus were away.
 */
import type { Cache } from '../../src/index.js'
import { internals } from './make_cache.js'

export interface Write {
  key: string
  value: number
  sentAt: number
  ackedAt: number
}

export interface NodeTrace {
  acked: Write[]
  /** When each write that failed was sent. */
  failed: number[]
  /** The `code` of each failed write's error, in the same order. */
  codes: string[]
  /** `bus:state` changes, with when they came. */
  bus: Array<{ state: 'up' | 'down'; at: number }>
  /** When the command connection became ready (again). */
  ready: number[]
  /** `bus:error` messages, for the failure message of a bus that does not come back. */
  errors: string[]
}

export class Workload {
  readonly traces: NodeTrace[]
  readonly #caches: Cache[]
  #stopped = false
  #loops: Promise<void>[] = []
  #seq = 0

  constructor(caches: Cache[]) {
    this.#caches = caches
    this.traces = caches.map((cache) => {
      const trace: NodeTrace = { acked: [], failed: [], codes: [], bus: [], ready: [], errors: [] }
      cache.on('bus:state', ({ state }) => trace.bus.push({ state, at: Date.now() }))
      cache.on('bus:error', ({ error }) => trace.errors.push(`${Date.now()} ${error.message}`))
      internals(cache).ctx.connection?.client.on('ready', () => trace.ready.push(Date.now()))
      return trace
    })
  }

  /** Starts one writer per cache, a write every `paceMs` at most. */
  start(paceMs = 5): void {
    this.#loops = this.#caches.map((cache, i) => this.#loop(cache, this.traces[i] as NodeTrace, paceMs))
  }

  async #loop(cache: Cache, trace: NodeTrace, paceMs: number): Promise<void> {
    while (!this.#stopped) {
      const value = ++this.#seq
      const key = `w${value}`
      const sentAt = Date.now()
      try {
        await cache.set(key, value)
        trace.acked.push({ key, value, sentAt, ackedAt: Date.now() })
      } catch (error) {
        trace.failed.push(sentAt)
        trace.codes.push(String((error as { code?: unknown }).code))
      }
      await new Promise((resolve) => setTimeout(resolve, paceMs))
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
  }

  /** Every acknowledged write, of every cache. */
  get acked(): Write[] {
    return this.traces.flatMap((trace) => trace.acked)
  }

  /** The longest time between two acknowledged writes of one cache, from `since` on (ms). */
  longestGap(since: number): number {
    let longest = 0
    for (const trace of this.traces) {
      let last = since
      for (const write of trace.acked) {
        if (write.ackedAt < since) continue
        longest = Math.max(longest, write.ackedAt - last)
        last = write.ackedAt
      }
    }
    return longest
  }
}

/** Resolves with the time of the first `up` of the bus at or after `since` (bounded by `timeoutMs`). */
export async function busBackAfter(trace: NodeTrace, since: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const up = trace.bus.find((change) => change.state === 'up' && change.at >= since)
    if (up !== undefined) return up.at
    if (Date.now() > deadline)
      throw new Error(
        `the bus was not back within ${timeoutMs} ms: ${JSON.stringify(trace.bus)} ${trace.errors.slice(-5).join('; ')}`,
      )
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
