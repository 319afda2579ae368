/**
 * A million keys streamed from a generator: the runner pulls them as it has room, so the heap stays flat.
 * Measured after a forced GC at 100k, 500k and 1M keys taken. Kept fast with an L1-only cache (10,000
 * entries, so L1 itself stays bounded) and a `loadMany` that costs nothing: what is measured is the
 * runner's own footprint, not Redis's or a loader's. Holding the million keys alone would take > 30 MB.
 */
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { defineWarmJob, runWarmJob } from '../../src/warming/index.js'
import { makeCache } from '../support/make_cache.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const TOTAL = 1_000_000
const SAMPLES = new Set([100_000, 500_000, TOTAL])

describe('streaming', () => {
  it('warms 1,000,000 keys from a generator with a flat heap', { timeout: 60_000 }, async () => {
    const cache = makeCache({ l1: { maxEntries: 10_000 } })
    const heap = new Map<number, number>()
    const job = defineWarmJob({
      name: 'million',
      batchSize: 1000,
      concurrency: 4,
      keys: function* () {
        for (let i = 1; i <= TOTAL; i++) {
          if (SAMPLES.has(i)) {
            gc()
            heap.set(i, process.memoryUsage().heapUsed)
          }
          yield `k:${i}`
        }
      },
      loadMany: (keys) => keys.map(() => 1),
    })
    const started = performance.now()
    const report = await runWarmJob(cache, job)
    const seconds = (performance.now() - started) / 1000
    expect(report).toMatchObject({ outcome: 'completed', taken: TOTAL, warmed: TOTAL })
    const growth = (heap.get(TOTAL) as number) - (heap.get(100_000) as number)
    console.log(
      `1M keys streamed in ${seconds.toFixed(1)} s; heap after GC at 100k/500k/1M: ${[...heap.values()].map((b) => `${(b / 1048576).toFixed(1)} MB`).join(' / ')}`,
    )
    expect(growth).toBeLessThan(8 * 1024 * 1024)
  })
})
