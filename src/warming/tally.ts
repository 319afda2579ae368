/**
 * A run's counts as it goes, its progress snapshots, and its final report. Failures are grouped by reason
 * (the error's message with the item's key taken out, so ten thousand timeouts are one line), with a few
 * example keys each, and capped: a run over millions of keys cannot grow its report without bound.
 */
import type { WarmCounts, WarmOutcome } from './record.js'

/** One reason items failed for, with how many and a few of their keys. */
export interface WarmFailureReason {
  /** The error's name and message, with the item's key replaced by `<key>`. */
  reason: string
  /** The error's `code`, when it has one (`E_WARM_TIMEOUT`, `E_L2_TIMEOUT`, `ECONNREFUSED` …). */
  code: string | undefined
  count: number
  /** Up to {@link MAX_KEYS_PER_REASON} of the keys that failed for it. */
  keys: string[]
}

/** Where a run is. */
export type WarmPhase = 'waiting' | 'running' | 'stopping' | 'done'

/** Why keys were skipped. */
export interface WarmSkipped {
  /** Already in Redis (`onlyMissing`). */
  present: number
  /** In Redis with more time to live than `ifTtlBelow`. */
  fresh: number
  /** The loader had nothing to cache for them (`undefined`). */
  empty: number
}

/** A snapshot of a run in progress, for `onProgress`. */
export interface WarmProgress extends WarmCounts {
  job: string
  shard: string
  phase: WarmPhase
  /** Dry run: keys that would be loaded and written. */
  planned: number
  /** Items whose load or write is under way. */
  inFlight: number
  /** Keys the run will take, when known (an array source, or `limit`); undefined otherwise. */
  total: number | undefined
  /** Since the run started running (not counting a wait for the lease). */
  elapsedMs: number
  /** Items finished (warmed, skipped, failed or planned) per second so far. */
  itemsPerSecond: number
}

/** What `runWarmJob` resolves with. */
export interface WarmReport extends WarmCounts {
  job: string
  shard: string
  outcome: WarmOutcome
  /** Why a run ended early: the lease was lost, the source or a callback threw. */
  error: string | undefined
  dryRun: boolean
  /** Dry run: keys that would be loaded and written. */
  planned: number
  skippedBy: WarmSkipped
  /** Grouped by reason, most frequent first; at most {@link MAX_REASONS} (the rest are counted under `(other reasons)`). */
  failures: WarmFailureReason[]
  /** Epoch ms. */
  startedAt: number
  /** Time spent running (not counting a wait for the lease). */
  durationMs: number
  /** Time spent waiting for another run's lease. */
  waitedMs: number
  itemsPerSecond: number
}

export const MAX_REASONS = 20
export const MAX_KEYS_PER_REASON = 5
const OTHER = '(other reasons)'

export class Tally {
  readonly job: string
  readonly shard: string
  taken = 0
  warmed = 0
  planned = 0
  failed = 0
  inFlight = 0
  readonly skippedBy: WarmSkipped = { present: 0, fresh: 0, empty: 0 }
  readonly #reasons = new Map<string, WarmFailureReason>()

  constructor(job: string, shard: string) {
    this.job = job
    this.shard = shard
  }

  get skipped(): number {
    return this.skippedBy.present + this.skippedBy.fresh + this.skippedBy.empty
  }

  /** Items finished one way or another. */
  get done(): number {
    return this.warmed + this.skipped + this.failed + this.planned
  }

  fail(key: string, error: unknown): void {
    this.failed++
    let reason = reasonOf(key, error)
    if (!this.#reasons.has(reason) && this.#reasons.size >= MAX_REASONS - 1) reason = OTHER
    let group = this.#reasons.get(reason)
    if (group === undefined) {
      group = { reason, code: reason === OTHER ? undefined : codeOf(error), count: 0, keys: [] }
      this.#reasons.set(reason, group)
    }
    group.count++
    if (group.keys.length < MAX_KEYS_PER_REASON) group.keys.push(key)
  }

  counts(): WarmCounts {
    return { taken: this.taken, warmed: this.warmed, skipped: this.skipped, failed: this.failed }
  }

  progress(phase: WarmPhase, total: number | undefined, elapsedMs: number): WarmProgress {
    const { job, shard, planned, inFlight } = this
    return {
      job,
      shard,
      phase,
      ...this.counts(),
      planned,
      inFlight,
      total,
      elapsedMs,
      itemsPerSecond: rate(this.done, elapsedMs),
    }
  }

  report(run: Pick<WarmReport, 'outcome' | 'error' | 'dryRun' | 'startedAt' | 'durationMs' | 'waitedMs'>): WarmReport {
    return {
      job: this.job,
      shard: this.shard,
      ...run,
      ...this.counts(),
      planned: this.planned,
      skippedBy: { ...this.skippedBy },
      failures: this.failures(),
      itemsPerSecond: rate(this.done, run.durationMs),
    }
  }

  failures(): WarmFailureReason[] {
    return [...this.#reasons.values()]
      .sort((a, b) => b.count - a.count)
      .map((group) => ({ ...group, keys: [...group.keys] }))
  }
}

/** Items per second over `ms`. */
export function rate(items: number, ms: number): number {
  return ms > 0 ? Math.round((items * 1000) / ms) : 0
}

function reasonOf(key: string, error: unknown): string {
  const message =
    error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error)
  if (key.length === 0 || !message.includes(key)) return message
  // Only where the key stands as a word of its own (quoted, spaced, at an end): key `a` leaves `far` alone.
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return message.replace(new RegExp(`(^|[\\s"'\`(\\[{<,;=])${escaped}(?=$|[\\s"'\`)\\]}>.,;:!?])`, 'g'), '$1<key>')
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}
