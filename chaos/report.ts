/**
 * The table of a chaos run, one row per fault (Markdown: it is printed, and pasted into RELIABILITY.md), the
 * machine it ran on, and the details behind every violation.
 */
import type { PhaseStats } from './checker.js'
import type { RunReport } from './harness.js'
import type { Verdict } from './verdict.js'

/** The B values (ms) the table gives stale-read counts for, besides each fault's own allowance. */
export const STALE_STEPS_MS = [10, 100] as const

const ms = (value: number | undefined): string =>
  value === undefined ? 'never' : Number.isNaN(value) ? 'n/a' : `${Math.round(value)}`

function failures(phase: PhaseStats): string {
  const entries = Object.entries(phase.failed).sort((a, b) => b[1] - a[1])
  return entries.length === 0 ? '-' : entries.map(([code, n]) => `${code} ${n}`).join(', ')
}

function recovery(phase: PhaseStats, field: 'l2Ms' | 'busMs'): string {
  const values = Object.values(phase.recovery).map((r) => r[field])
  if (values.length === 0) return '-'
  if (values.some((v) => v === undefined)) return 'never'
  const measured = (values as number[]).filter((v) => !Number.isNaN(v))
  return measured.length === 0 ? 'n/a' : ms(Math.max(...measured))
}

function verdictCell(phase: PhaseStats, verdict: Verdict): string {
  const mine = verdict.violations.filter((v) => v.id.startsWith(`${phase.name}/`))
  if (mine.length === 0) return 'ok'
  const unexpected = mine.filter((v) => v.expected === undefined)
  if (unexpected.length > 0) return `**FAIL**: ${unexpected.map((v) => v.id.slice(phase.name.length + 1)).join(', ')}`
  return `expected (chaos/expected_failures.ts): ${mine.map((v) => v.id.slice(phase.name.length + 1)).join(', ')}`
}

export function tableOf(report: RunReport, verdict: Verdict): string {
  const head = [
    'fault',
    'ops',
    'ok',
    'failed, by code',
    'longest / bound (ms)',
    ...STALE_STEPS_MS.map((b) => `stale > ${b} ms`),
    'stale > allowance',
    'stale while a tag time went back',
    'late uncertain writes',
    'backwards',
    'wrong values',
    'hung',
    'unhandled / crashes',
    'Redis write ok after (ms)',
    'bus up after (ms)',
    'verdict',
  ]
  const rows = report.phases.map((phase) => [
    phase.name,
    String(phase.attempted),
    String(phase.succeeded),
    failures(phase),
    `${Math.round(phase.longest.ms)} / ${phase.longest.bound} (${phase.longest.op.replace(/^cache\./, '')})`,
    ...STALE_STEPS_MS.map((b) => String(phase.staleBeyond(b))),
    `${phase.staleBeyond(phase.allowanceMs)} (> ${phase.allowanceMs} ms)`,
    String(phase.staleWhileTagTimeWentBack.filter((s) => s.latenessMs > phase.allowanceMs).length),
    String(phase.lateUncertain),
    String(phase.backwards),
    String(phase.wrong),
    String(phase.hung),
    `${phase.unhandled} / ${phase.crashes}`,
    recovery(phase, 'l2Ms'),
    recovery(phase, 'busMs'),
    verdictCell(phase, verdict),
  ])
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}

export function machineOf(report: RunReport): string {
  const m = report.machine
  const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ')
  return (
    `${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, Redis ${m.redis}; ` +
    `load average ${load(m.loadBefore)} before, ${load(m.loadAfter)} after; ` +
    `${report.options.nodes} nodes, ${report.options.clients} clients, hold ${report.options.holdMs} ms, ` +
    `seed ${report.options.seed}; ${(report.durationMs / 1000).toFixed(0)} s`
  )
}

/** Notes, checks and violation details, one line each. */
export function detailsOf(report: RunReport, verdict: Verdict): string {
  const lines: string[] = []
  for (const phase of report.phases) {
    const events = Object.entries(phase.events)
      .map(([name, n]) => `${name} ${n}`)
      .join(', ')
    const stale = phase.stale.length > 0 ? `; stale reads up to ${Math.round(phase.maxLatenessMs)} ms late` : ''
    lines.push(
      `- ${phase.name}: ${phase.reads} reads, ${phase.writesAcked} key versions acknowledged${stale}; events: ${events || 'none'}`,
    )
    for (const note of phase.notes) lines.push(`  - ${note}`)
    for (const result of phase.checks)
      lines.push(`  - check ${result.ok ? 'ok' : 'FAILED'}: ${result.id}: ${result.detail}`)
  }
  if (verdict.violations.length > 0) lines.push('', 'Violations:')
  for (const v of verdict.violations)
    lines.push(`- ${v.expected === undefined ? 'FAIL' : `expected (${v.expected})`}: ${v.id}: ${v.detail}`)
  if (verdict.nowPassing.length > 0)
    lines.push('', 'Listed in chaos/expected_failures.ts but passed in this run (delete their lines once fixed):')
  for (const id of verdict.nowPassing) lines.push(`- ${id}`)
  return lines.join('\n')
}
