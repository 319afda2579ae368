/**
 * What `warm-cache` prints. Progress goes to stderr only: on a terminal one line redrawn in place, otherwise
 * (a CI log, `kubectl logs`) a plain line when a job starts, every progress interval, and when it ends. The
 * summary table (or, with `--json`, one JSON document) goes to stdout.
 */
import type { WarmProgress, WarmReport } from './tally.js'

/** A job that did not run: another run held its lease, or Redis failed before it could start. */
export interface NotRun {
  job: string
  shard: string
  outcome: 'not-run'
  error: string
}

export type JobResult = WarmReport | NotRun

const CLEAR_LINE = '\r\u001b[2K'

export class ProgressPrinter {
  readonly #out: NodeJS.WriteStream
  readonly #tty: boolean
  #drawn = false

  constructor(out: NodeJS.WriteStream) {
    this.#out = out
    this.#tty = out.isTTY === true
  }

  get tty(): boolean {
    return this.#tty
  }

  update(progress: WarmProgress): void {
    const line = describeProgress(progress)
    if (!this.#tty) {
      this.#out.write(`${line}\n`)
      return
    }
    const width = this.#out.columns > 10 ? this.#out.columns - 1 : 200
    this.#out.write(`${CLEAR_LINE}${line.length > width ? `${line.slice(0, width - 1)}…` : line}`)
    this.#drawn = true
    if (progress.phase === 'done') this.#finish()
  }

  /** A line of its own (a warning), without breaking the redrawn progress line. */
  note(line: string): void {
    this.#finish()
    this.#out.write(`${line}\n`)
  }

  #finish(): void {
    if (!this.#drawn) return
    this.#out.write('\n')
    this.#drawn = false
  }
}

export function describeProgress(p: WarmProgress): string {
  const name = p.shard === '0/1' ? p.job : `${p.job} [${p.shard}]`
  if (p.phase === 'waiting') return `${name}: waiting for another run of this job to end`
  const done = p.warmed + p.skipped + p.failed + p.planned
  if (p.phase === 'running' && done === 0 && p.inFlight === 0)
    return `${name}: started${p.total === undefined ? '' : `, ${formatCount(p.total)} keys`}`
  const of = p.total === undefined ? formatCount(done) : `${formatCount(done)}/${formatCount(p.total)}`
  const percent = p.total === undefined || p.total === 0 ? '' : ` ${Math.floor((100 * done) / p.total)}%`
  const counts = p.planned > 0 ? `would warm ${formatCount(p.planned)}` : `warmed ${formatCount(p.warmed)}`
  const eta =
    p.total !== undefined && p.itemsPerSecond > 0 && p.phase === 'running' && p.total > done
      ? `  ETA ${formatDuration(((p.total - done) / p.itemsPerSecond) * 1000)}`
      : ''
  const state = p.phase === 'stopping' ? `  stopping: ${p.inFlight} in flight` : p.phase === 'done' ? '  done' : ''
  return (
    `${name}: ${of}${percent}  ${counts}  skipped ${formatCount(p.skipped)}  failed ${formatCount(p.failed)}` +
    `  ${formatCount(p.itemsPerSecond)}/s  ${formatDuration(p.elapsedMs)}${eta}${state}`
  )
}

/** The summary table, then the failure reasons (a few per job) and the errors of runs that ended early. */
export function summaryTable(results: readonly JobResult[]): string {
  const header = ['job', 'shard', 'outcome', 'taken', 'warmed', 'skipped', 'failed', 'duration', 'items/s']
  const rows = results.map((r) =>
    r.outcome === 'not-run'
      ? [r.job, r.shard, r.outcome, '', '', '', '', '', '']
      : [
          r.job,
          r.shard,
          r.dryRun ? `${r.outcome} (dry run: would warm ${formatCount(r.planned)})` : r.outcome,
          formatCount(r.taken),
          formatCount(r.warmed),
          formatCount(r.skipped),
          formatCount(r.failed),
          formatDuration(r.durationMs),
          formatCount(r.itemsPerSecond),
        ],
  )
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const numeric = new Set([3, 4, 5, 6, 7, 8])
  const render = (row: string[]): string =>
    row
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  const lines = [render(header), ...rows.map(render)]
  for (const r of results) {
    if (r.error !== undefined) lines.push(`${r.job} [${r.shard}]: ${r.error}`)
    if (r.outcome === 'not-run') continue
    for (const failure of r.failures.slice(0, 5))
      lines.push(`${r.job}: ${formatCount(failure.count)} failed: ${failure.reason} (e.g. ${failure.keys.join(', ')})`)
    if (r.failures.length > 5) lines.push(`${r.job}: … and ${r.failures.length - 5} more reasons (see --json)`)
  }
  return lines.join('\n')
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return minutes < 60
    ? `${minutes}m${String(seconds).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`
}
