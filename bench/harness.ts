/**
 * How a throughput is measured. Every task is a *batch*: one call of `batch()` performs `ops`
 * operations (for example 1,000 awaited `get`s in a loop), so the harness's own per-iteration
 * cost (timestamps, sample bookkeeping, the async wrapper) is paid once per 1,000 operations
 * and cannot swamp a ~100 ns L1 hit. tinybench times the batches; ops/s = ops / mean batch time.
 */
import { Bench } from 'tinybench'

/** One contender's part of a scenario. */
export interface Task {
  /** Performs `ops` operations. Each contender gets its own function, so no call site is shared. */
  batch: () => Promise<void>
  ops: number
  /** Throws when the contender does not do what the scenario assumes (e.g. a "hit" that misses). */
  check?: () => Promise<void>
}

export interface Timing {
  /** Time budget of one measurement (ms). */
  time: number
  warmupTime: number
}

/** Ops/s of one task over one measurement. */
export async function throughput(task: Task, timing: Timing): Promise<number> {
  const bench = new Bench({
    time: timing.time,
    warmupTime: timing.warmupTime,
    iterations: 3,
    warmupIterations: 2,
    throws: true,
  })
  bench.add('task', task.batch)
  await bench.run()
  const result = bench.tasks[0]?.result
  if (result === undefined || result.state !== 'completed')
    throw new Error(`benchmark task ended in state ${result?.state}`)
  return (task.ops * 1000) / result.period
}

/**
 * Keeps exactly `inFlight` calls outstanding until `total` calls are done: `inFlight` workers
 * each await one call at a time. `call(i)` gets a running index.
 */
export async function inFlight(n: number, total: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < total) await call(next++)
  }
  const workers: Array<Promise<void>> = []
  for (let w = 0; w < n; w++) workers.push(worker())
  await Promise.all(workers)
}

export interface Summary {
  median: number
  min: number
  max: number
  runs: number[]
}

export function summarize(runs: readonly number[]): Summary {
  const sorted = [...runs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, runs: [...runs] }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Fails loudly when a scenario's premise does not hold for a contender. */
export function expectValue(scenario: string, contender: string, value: unknown): void {
  if (value === undefined || value === null)
    throw new Error(`${scenario}: ${contender} returned ${String(value)} where the scenario expects a cached value`)
}

/** One line of the results table: the same operation measured for each contender. */
export interface Scenario {
  /** `family/variant/size`, what `--filter` matches. */
  id: string
  title: string
  /** The contenders' tasks; `raw` is the floor (the raw libraries). */
  tasks: Partial<Record<'tiercache' | 'raw' | 'bentocache' | 'cache-manager', Task>>
  /** Fills the caches this scenario reads; runs before any check or measurement. */
  setup?: () => Promise<void>
  /**
   * Runs once the scenario is measured: undoes what would change the scenarios after it (observers attached to
   * process-wide diagnostics channels see every cache in the process).
   */
  teardown?: () => void | Promise<void>
}

/** A measured fact that is not a throughput (factory calls, round trips, delays). */
export interface Fact {
  id: string
  title: string
  contender: string
  values: Record<string, number>
}
