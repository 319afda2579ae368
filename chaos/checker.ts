/**
 * The checker of a chaos run: it sees every operation (when it started and ended on the harness's clock,
 * how it ended) and every write and read as versions of entities, and keeps, per phase of the run:
 *
 * - operations attempted, succeeded, failed by error code; the longest call against its bound; hung calls;
 * - **stale reads**: a read that started more than B ms after a newer version of its entity was acknowledged
 *   and returned an older one. Each stale read is kept with its lateness (start minus the first newer
 *   acknowledgement), so the counts for any B can be read off. Times are the harness's: a read's start is
 *   taken before the request leaves, an acknowledgement after the reply arrives, so IPC can hide a stale
 *   read but never invent one;
 * - **backward reads**: a node returned an older version than one it had returned before the read started;
 * - **wrong values**: something that is not a version the workload ever made (garbage decoded as a value);
 * - unhandled rejections and crashes reported by the nodes.
 *
 * A write that failed may still land later (a timeout is not a "no"): its version is remembered as
 * uncertain, and a read returning exactly such a version is counted apart ("late uncertain writes"), not as
 * stale, since nothing promises an order between a write that failed and one that followed it.
 */

export interface StaleSample {
  node: number
  entity: string
  returned: number
  /** How the node got it (the workload says: who made the value, which tier answered). */
  how: string
  newer: number
  /** The write that acknowledged the newer version (set, delete, invalidateTags). */
  newerBy: string
  /** When that write was sent (ms since the epoch, the harness's wall clock): what a tag time must not go below. */
  newerSentAt: number
  latenessMs: number
}

export interface CheckResult {
  id: string
  ok: boolean
  detail: string
}

export interface Recovery {
  /** ms from the end of the fault to the node's first successful Redis write; undefined: none seen. */
  l2Ms: number | undefined
  /** ms from the end of the fault to the node's bus being up again (0: it never went down). */
  busMs: number | undefined
}

export class PhaseStats {
  attempted = 0
  succeeded = 0
  readonly failed: Record<string, number> = {}
  longest = { ms: 0, bound: 1, op: '' }
  overBound = 0
  hung = 0
  readonly hungSamples: string[] = []
  /** Every stale read of the phase: on which node, and how late (ms after the first newer acknowledgement). */
  readonly stale: Array<{ node: number; latenessMs: number }> = []
  /**
   * Stale reads whose newer version came from an acknowledged `invalidateTags`, while Redis showed the tag's time
   * gone back below that invalidation (a late one overwrote it, or the tag key was recreated with an older time):
   * moved here from `stale` by `reclassify` once the evidence is in (see the cache driver).
   */
  readonly staleWhileTagTimeWentBack: Array<{ node: number; latenessMs: number }> = []
  readonly tagTimeSamples: StaleSample[] = []
  /** The first few stale reads beyond the allowance, per node. */
  readonly staleSamples: StaleSample[] = []
  readonly staleByNode: Record<number, number> = {}
  lateUncertain = 0
  backwards = 0
  readonly backwardSamples: string[] = []
  wrong = 0
  readonly wrongSamples: string[] = []
  reads = 0
  writesAcked = 0
  unhandled = 0
  crashes = 0
  readonly incidents: string[] = []
  readonly notes: string[] = []
  readonly checks: CheckResult[] = []
  /** Events the nodes counted during the phase (`l2:error`, `decode:error`…), summed over nodes. */
  readonly events: Record<string, number> = {}
  readonly recovery: Record<number, Recovery> = {}
  startedAt = 0
  healedAt = 0
  endedAt = 0

  constructor(
    readonly name: string,
    /** Stale reads later than this (ms) are violations in this phase. */
    readonly allowanceMs: number,
  ) {}

  /** Stale reads later than `b` ms, leaving out the nodes in `except`. */
  staleBeyond(b: number, except: readonly number[] = []): number {
    return this.stale.filter((s) => s.latenessMs > b && !except.includes(s.node)).length
  }

  /** The latest stale read (ms), 0 when none. */
  get maxLatenessMs(): number {
    return this.stale.reduce((max, s) => Math.max(max, s.latenessMs), 0)
  }
}

const SAMPLES = 5

interface Ack {
  version: number
  at: number
  by?: string
  /** When the write was sent, ms since the epoch. */
  sentAt: number
}

/** The harness's wall clock for a `performance.now()` time (what tag times in Redis are compared with). */
export const epochOf = (at: number): number => performance.timeOrigin + at

export interface WriteRecord {
  entity: string
  start: number
  end: number
  acked: boolean
}

export class Checker {
  readonly phases: PhaseStats[] = []
  readonly writes: WriteRecord[] = []
  readonly #acks = new Map<string, Ack[]>()
  readonly #uncertain = new Map<string, Set<number>>()
  /** Per node and entity: versions this node returned (increasing), with when. */
  readonly #returned = new Map<string, Array<{ version: number; at: number }>>()
  #current: PhaseStats | undefined

  get current(): PhaseStats {
    if (this.#current === undefined) throw new Error('no phase has begun')
    return this.#current
  }

  begin(name: string, allowanceMs: number): PhaseStats {
    const phase = new PhaseStats(name, allowanceMs)
    phase.startedAt = performance.now()
    this.phases.push(phase)
    this.#current = phase
    return phase
  }

  /** An operation ended (ok or with an error code) after `ms` on the node. */
  op(phase: PhaseStats, name: string, ok: boolean, code: string | undefined, ms: number, bound: number): void {
    phase.attempted++
    if (ok) phase.succeeded++
    else phase.failed[code ?? 'unknown'] = (phase.failed[code ?? 'unknown'] ?? 0) + 1
    if (ms / bound > phase.longest.ms / phase.longest.bound) phase.longest = { ms, bound, op: name }
    if (ms > bound) phase.overBound++
  }

  hung(phase: PhaseStats, description: string): void {
    phase.hung++
    if (phase.hungSamples.length < SAMPLES) phase.hungSamples.push(description)
  }

  /**
   * A write of `entity` at `version` ended: acknowledged (resolved) or failed (its outcome is unknown). `by` names
   * the operation, for the report.
   */
  wrote(entity: string, version: number, acked: boolean, start: number, end: number, by: string): void {
    this.writes.push({ entity, start, end, acked })
    if (acked) {
      this.current.writesAcked++
      const acks = this.#acks.get(entity)
      const ack = { version, at: end, by, sentAt: epochOf(start) }
      if (acks === undefined) this.#acks.set(entity, [ack])
      else acks.push(ack)
    } else {
      const set = this.#uncertain.get(entity)
      if (set === undefined) this.#uncertain.set(entity, new Set([version]))
      else set.add(version)
    }
  }

  /**
   * A read of `entity` on `node` that started at `start` (harness clock) and returned `version` (null: a miss);
   * `how` says how the node got it (kept with stale and backward samples). Returns the sample it kept for a stale
   * read beyond the allowance, so that the caller can add what Redis held then.
   */
  read(
    phase: PhaseStats,
    node: number,
    entity: string,
    version: number | null,
    start: number,
    end: number,
    how = '',
  ): StaleSample | undefined {
    phase.reads++
    if (version === null) return undefined
    let sample: StaleSample | undefined
    const uncertain = this.#uncertain.get(entity)?.has(version) === true
    const newer = this.#firstNewerAck(entity, version)
    if (newer !== undefined && newer.at < start) {
      const latenessMs = start - newer.at
      if (uncertain) phase.lateUncertain++
      else {
        phase.stale.push({ node, latenessMs })
        phase.staleByNode[node] = (phase.staleByNode[node] ?? 0) + 1
        if (latenessMs > phase.allowanceMs) {
          sample = {
            node,
            entity,
            returned: version,
            how,
            newer: newer.version,
            newerBy: newer.by ?? '?',
            newerSentAt: newer.sentAt,
            latenessMs,
          }
          if (phase.staleSamples.filter((kept) => kept.node === node).length < SAMPLES) phase.staleSamples.push(sample)
        }
      }
    }
    const key = `${node}|${entity}`
    const seen = this.#returned.get(key) ?? []
    // A version this node returned straight from the truth (a factory) while its write was failing is no promise
    // of the cache's: going back from it to what the cache holds is the failed write's doing, not a regression.
    const failed = this.#uncertain.get(entity)
    let newestBefore = -1
    for (const entry of seen)
      if (entry.at < start && entry.version > newestBefore && failed?.has(entry.version) !== true)
        newestBefore = entry.version
    if (version < newestBefore && !uncertain) {
      phase.backwards++
      if (phase.backwardSamples.length < SAMPLES)
        phase.backwardSamples.push(
          `node ${node} ${entity}: returned v${version} (${how}) after having returned v${newestBefore}`,
        )
    }
    const last = seen.at(-1)
    if (last === undefined || version > last.version) {
      seen.push({ version, at: end })
      if (seen.length > 32) seen.shift()
      this.#returned.set(key, seen)
    }
    return sample
  }

  /**
   * Moves a stale read (a sample `read` returned) to `staleWhileTagTimeWentBack`: the caller found the tag's time in
   * Redis below the acknowledged invalidation that made the read stale.
   */
  reclassify(phase: PhaseStats, sample: StaleSample): void {
    const i = phase.stale.findIndex((s) => s.node === sample.node && s.latenessMs === sample.latenessMs)
    if (i >= 0) phase.stale.splice(i, 1)
    phase.staleByNode[sample.node] = Math.max(0, (phase.staleByNode[sample.node] ?? 0) - 1)
    const kept = phase.staleSamples.indexOf(sample)
    if (kept >= 0) phase.staleSamples.splice(kept, 1)
    phase.staleWhileTagTimeWentBack.push({ node: sample.node, latenessMs: sample.latenessMs })
    if (phase.tagTimeSamples.length < SAMPLES) phase.tagTimeSamples.push(sample)
  }

  /** A read returned something that is not a value the workload made. */
  wrongValue(phase: PhaseStats, node: number, entity: string, description: string): void {
    phase.wrong++
    if (phase.wrongSamples.length < SAMPLES) phase.wrongSamples.push(`node ${node} ${entity}: ${description}`)
  }

  incident(phase: PhaseStats, kind: 'unhandled' | 'crash', node: number, message: string): void {
    if (kind === 'unhandled') phase.unhandled++
    else phase.crashes++
    if (phase.incidents.length < SAMPLES) phase.incidents.push(`node ${node} ${kind}: ${message}`)
  }

  /** Distinct entities with a write (acknowledged or not) overlapping [from, to]. */
  changedBetween(from: number, to: number): Set<string> {
    const out = new Set<string>()
    for (let i = this.writes.length - 1; i >= 0; i--) {
      const write = this.writes[i] as WriteRecord
      if (write.end < from) break // recorded as they end: older ones ended earlier still
      if (write.start <= to) out.add(write.entity)
    }
    return out
  }

  #firstNewerAck(entity: string, version: number): Ack | undefined {
    const acks = this.#acks.get(entity)
    if (acks === undefined) return undefined
    // Acknowledgements of one entity come in version order (its writes are serialized): binary search.
    let lo = 0
    let hi = acks.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((acks[mid] as Ack).version > version) hi = mid
      else lo = mid + 1
    }
    return acks[lo]
  }
}
