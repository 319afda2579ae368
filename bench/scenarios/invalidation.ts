/**
 * Cross-node invalidation delay (p50/p99): how long after a write resolves on node A node B
 * stops returning the old value. tiercache's measurement lives in bench/invalidation_delay.ts
 * (written with the invalidation bus); when that file is absent this prints a note and skips.
 * bentocache is measured here the same way: two instances with L1 + L2 + Redis bus, B's L1
 * holds the key, A sets a new value, B polls `get` until it sees it.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Fact } from '../harness.js'
import { bentoNode } from '../peers.js'

interface DelayResult {
  p50: number
  p99: number
  samples: number
}

type Measure = (options: { redisUrl: string; writes: number }) => Promise<DelayResult>

const POLL_LIMIT_MS = 1000

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

async function bentoDelay(redisUrl: string, writes: number): Promise<DelayResult> {
  const a = bentoNode(redisUrl)
  const b = bentoNode(redisUrl)
  const delays: number[] = []
  try {
    const key = `invalidation:${Date.now()}`
    await a.set({ key, value: 0 })
    for (let i = 1; i <= writes; i++) {
      await b.get({ key }) // B's L1 holds the current value
      await a.set({ key, value: i })
      const written = performance.now()
      for (;;) {
        if ((await b.get<number>({ key })) === i) break
        if (performance.now() - written > POLL_LIMIT_MS) throw new Error(`bentocache: node B still stale after ${POLL_LIMIT_MS} ms`)
        await new Promise((resolve) => setImmediate(resolve))
      }
      delays.push(performance.now() - written)
    }
  } finally {
    await Promise.allSettled([a.disconnect(), b.disconnect()])
  }
  delays.sort((x, y) => x - y)
  return { p50: percentile(delays, 50), p99: percentile(delays, 99), samples: delays.length }
}

export async function invalidationDelay(redisUrl: string, writes: number, notes: string[]): Promise<Fact[]> {
  const title = 'cross-node invalidation delay (ms)'
  const facts: Fact[] = []
  const file = new URL('../invalidation_delay.ts', import.meta.url)
  if (existsSync(fileURLToPath(file))) {
    const module = (await import(file.href)) as { measureInvalidationDelay?: Measure }
    if (typeof module.measureInvalidationDelay === 'function') {
      const result = await module.measureInvalidationDelay({ redisUrl, writes })
      facts.push({ id: 'invalidation', title, contender: 'tiercache', values: { ...result } })
    } else notes.push('bench/invalidation_delay.ts does not export measureInvalidationDelay: tiercache invalidation delay skipped')
  } else {
    notes.push('bench/invalidation_delay.ts is not there yet (it comes with the invalidation bus): tiercache invalidation delay skipped')
  }
  const bento = await bentoDelay(redisUrl, writes)
  facts.push({ id: 'invalidation', title, contender: 'bentocache', values: { ...bento } })
  return facts
}
