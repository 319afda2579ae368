/**
 * Keys warmed per second (issue 12): one whole `runWarmJob` over 10,000 keys with a 0 ms loader, as
 * `warm-cache` runs it (the cache with `l1: false` and its bus on, the lease taken and released, the run
 * record written): with `loadMany` (batches of 100, 8 in flight), with `loadMany` and `concurrency: 1` (one
 * batch at a time, like the floor), and with `load` (8 in flight, values written together). The floor: a
 * plain loop of ioredis pipelines of 100 `SET key value PX ttl`, each awaited before the next, with the same
 * values encoded by msgpackr.
 */
import type { Scenario, Task } from '../harness.js'
import { TTL_MS, type Peers } from '../peers.js'
import { makeValue, type ValueSize } from '../values.js'
import { defineWarmJob, runWarmJob } from '../../src/warming/index.js'

const KEYS = 10_000
const BATCH = 100

export function warmingScenarios(peers: Peers, size: ValueSize = '100B'): Scenario[] {
  const value = makeValue(size)
  const keys = Array.from({ length: KEYS }, (_, i) => `warm:${size}:${i}`)
  const { tiercacheL2: cache, raw } = peers

  const rawLoop: Task = {
    ops: KEYS,
    batch: async () => {
      for (let start = 0; start < KEYS; start += BATCH) {
        const pipeline = raw.redis.pipeline()
        for (let i = start; i < start + BATCH; i++) pipeline.set(`raw:${keys[i]}`, raw.packr.pack(value), 'PX', TTL_MS)
        await pipeline.exec()
      }
    },
  }
  const warm = (job: Parameters<typeof runWarmJob>[1]): Task => ({
    ops: KEYS,
    batch: async () => {
      const report = await runWarmJob(cache, job)
      if (report.warmed !== KEYS) throw new Error(`warming bench: warmed ${report.warmed} of ${KEYS}`)
    },
  })
  const loadMany = defineWarmJob({
    name: `bench-loadmany-${size}`,
    keys,
    batchSize: BATCH,
    ttl: TTL_MS,
    loadMany: (batch) => batch.map(() => value),
  })
  const serial = defineWarmJob({ ...loadMany, name: `bench-loadmany-c1-${size}`, concurrency: 1 })
  const load = defineWarmJob({ name: `bench-load-${size}`, keys, batchSize: BATCH, ttl: TTL_MS, load: () => value })

  return [
    {
      id: `warm-loadmany/${size}`,
      title: `keys warmed per second, loadMany, 0 ms loader (${size})`,
      tasks: { tiercache: warm(loadMany), raw: rawLoop },
    },
    {
      id: `warm-loadmany-c1/${size}`,
      title: `keys warmed per second, loadMany, concurrency 1 (${size})`,
      tasks: { tiercache: warm(serial), raw: rawLoop },
    },
    {
      id: `warm-load/${size}`,
      title: `keys warmed per second, load, 0 ms loader (${size})`,
      tasks: { tiercache: warm(load), raw: rawLoop },
    },
  ]
}
