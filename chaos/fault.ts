/**
 * A fault of a chaos run: what it does to Redis (or to the network, or to the nodes), how long, and how
 * many stale reads the documentation allows while it lasts. The harness runs the faults one after another
 * under a steady workload; each becomes a row of the table.
 */
import type { Redis } from 'ioredis'
import type { RedisServer } from '../test/support/redis_server.js'
import type { Checker, PhaseStats } from './checker.js'
import type { NodeHandle } from './node_handle.js'
import type { ChaosProxy } from './proxy.js'
import type { Random } from './random.js'
import type { Truth } from './truth.js'
import type { StepContext } from './workload.js'
import type { CacheDriver } from './workloads/cache/driver.js'

/**
 * How late a stale read may be in a phase, by what the documentation promises (README, "Coherence across
 * servers"; DESIGN.md points 3 and 5). The harness turns these into milliseconds from the caches' settings.
 *
 * - `bus`: the bus is up: a write resolved on one node is heard by the others within the bus delay.
 * - `deaf`: a node's subscription drops visibly (its connection closes): until it is back, that node serves
 *   only L1 entries installed within `bus.maxStaleness`.
 * - `silent`: the subscription dies without closing (a frozen or partitioned Redis): the heartbeat notices it
 *   within two `bus.heartbeat` intervals, then as `deaf`.
 */
export type Allowance = 'bus' | 'deaf' | 'silent'

export interface FaultContext {
  readonly server: RedisServer
  /** One proxy per node: node i connects to Redis through `proxies[i]`. */
  readonly proxies: readonly ChaosProxy[]
  readonly nodes: readonly NodeHandle[]
  /** A direct connection to Redis (not through a proxy), for the harness's own writes. */
  readonly raw: Redis
  readonly rng: Random
  readonly truth: Truth
  readonly checker: Checker
  readonly driver: CacheDriver
  /** The phase of this fault (its checks go there). */
  readonly phase: PhaseStats
  /** How long a fault holds, scaled by the run's profile (ms). */
  readonly holdMs: number
  /** Runs an operation on a node and records it in the phase, as the workload's operations are (see StepContext). */
  call: StepContext['call']
  /** What the workload's steps get: a fault can make the driver's operations itself (targeted probes). */
  readonly workload: StepContext
  /** Runs a command on Redis with redis-cli (no client library involved). */
  cli(...args: string[]): Promise<string>
  sleep(ms: number): Promise<void>
  /** Makes node `id` read-only (the driver sends it no writes) until the phase ends. */
  readOnly(id: number): void
  /** While `on`, the workload sends node `id` nothing (a probe has it to itself); its calls in flight go on. */
  idle(id: number, on: boolean): void
}

export interface Fault {
  /** The row's name in the table, and what `--faults` selects by. */
  readonly name: string
  /** One line for RELIABILITY.md: what is done, to what, for how long. */
  readonly description: string
  readonly allowance: Allowance
  /** Redis keeps its data through the fault: a node that reconnects must not drop L1 wholesale (issue 10 #7). */
  readonly dataSurvives: boolean
  /**
   * Redis answers slower than `l2.timeout` while the fault holds: a revalidation then may fail, and dropping L1 is
   * the documented fallback, so the fault is left out of the revalidation check.
   */
  readonly keepsRedisSlow?: boolean
  /** Nodes whose stale reads are the point of the phase (the control): they must have some, and are no violation. */
  readonly staleExpectedOn?: readonly number[]
  /** Injects the fault, holds it, and heals it; resolves once healed. */
  run(ctx: FaultContext): Promise<void>
  /** Checks of its own, once the nodes have recovered (added to the phase with `check`). */
  verify?(ctx: FaultContext): Promise<void>
}

/** Records a check of a phase: `id` is `<fault>/<check>` (see expected_failures.ts). */
export function check(phase: PhaseStats, id: string, ok: boolean, detail: string): void {
  phase.checks.push({ id, ok, detail })
}
