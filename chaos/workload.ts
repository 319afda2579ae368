/**
 * How a workload plugs into a chaos run. A workload has two halves:
 *
 * - a **node side** (runs in every cache node process): named operations on whatever the workload
 *   uses (a cache, later a session store or an HTTP server), built only on the public API;
 * - a **driver** (runs in the harness): picks the next operation, sends it to a node, and tells the
 *   checker what it wrote and what it read, as versions of entities (a cache key, a session, a URL).
 *
 * The checker knows nothing of caches: a read that returns an older version of an entity after a
 * newer one was acknowledged is stale, whatever the entity is. The harness holds the source of truth
 * (`Truth`): versions only grow, and a node's factory asks it over IPC, as an app asks its database.
 */
import type { Checker, PhaseStats } from './checker.js'
import type { CallResult, NodeHandle } from './node_handle.js'
import type { Random } from './random.js'
import type { Truth } from './truth.js'

/** The public API of tiercache, as the node imported it (the sources, or a build given with `--target`). */
export type TiercacheApi = typeof import('../src/index.js')

/** What the node side of a workload gets from its process. */
export interface NodeEnv {
  readonly api: TiercacheApi
  readonly nodeId: number
  readonly redisUrl: string
  /** Options for this node given by the harness (e.g. `{ bus: false }` for the control node). */
  readonly options: Record<string, unknown>
  /** The source of truth held by the harness: the current version of an entity (one IPC round trip plus a delay). */
  readonly db: { read(entity: string, delayMs?: number): Promise<number> }
  /** Sends an event to the harness (JSON). */
  report(event: Record<string, unknown>): void
}

/** One operation of a node-side workload: JSON in, JSON out. Errors are reported by their `code`. */
export type NodeOperation = (args: never) => Promise<unknown>

export interface NodeWorkload {
  readonly ops: Record<string, NodeOperation>
  close(): Promise<void>
}

export type StartNodeWorkload = (env: NodeEnv) => NodeWorkload

/** What a driver gets for one step. */
export interface StepContext {
  readonly rng: Random
  readonly truth: Truth
  readonly checker: Checker
  /** A node to send the next operation to, and whether it may write in this phase. */
  pickNode(): { node: NodeHandle; readOnly: boolean }
  /**
   * Runs `op` (`<workload>.<operation>`) on `node` and records it in the current phase: attempted, succeeded or
   * failed by code, its time against `boundMs` (its documented bound), and a hang if it has not settled
   * `boundMs` plus the run's hang slack after it was sent.
   */
  call(node: NodeHandle, op: string, args: unknown, boundMs: number): Promise<CallResult & { phase: PhaseStats }>
  /** `node` completed a write that needed Redis at `at` (recovery times are measured with these). */
  redisWriteOk(node: NodeHandle, at: number): void
  /**
   * What Redis holds for `keys` now (`values`, null for missing or when Redis does not answer) and in a line
   * (`text`): the evidence of a stale read. Never rejects; the harness waits for it before judging the phase.
   */
  inspect(keys: readonly string[]): Promise<{ text: string; values: Array<Buffer | null> }>
}

export interface Driver {
  readonly name: string
  /** Performs one operation and reports it to the checker. Never rejects (failures are results). */
  step(ctx: StepContext): Promise<void>
}
