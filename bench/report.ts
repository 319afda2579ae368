/** Results of a run: the shapes written to JSON, the ratios, and the tables printed. */
import { summarize, type Fact, type Summary } from './harness.js'

export const PEERS = ['raw', 'bentocache', 'cache-manager'] as const
export const ALL = ['tiercache', ...PEERS] as const

export interface ScenarioResult {
  id: string
  title: string
  /** ops/s per contender: median, min and max over the runs. */
  opsPerSec: Partial<Record<(typeof ALL)[number], Summary>>
  /**
   * tiercache ÷ the contender: the median over runs of the ratio within each run (in a run the
   * contenders are measured back to back, so a burst of load elsewhere hits both).
   */
  ratios: Partial<Record<(typeof PEERS)[number], number>>
}

export interface Results {
  date: string
  node: string
  platform: string
  cpus: number
  redis: string
  settings: Record<string, unknown>
  scenarios: ScenarioResult[]
  facts: Fact[]
  notes: string[]
}

export function withRatios(id: string, title: string, opsPerSec: ScenarioResult['opsPerSec']): ScenarioResult {
  const ratios: ScenarioResult['ratios'] = {}
  const ours = opsPerSec.tiercache?.runs
  for (const peer of PEERS) {
    const theirs = opsPerSec[peer]?.runs
    if (ours === undefined || theirs === undefined || theirs.length !== ours.length) continue
    ratios[peer] = summarize(ours.map((value, run) => value / (theirs[run] as number))).median
  }
  return { id, title, opsPerSec, ratios }
}

/** 12_345_678 → "12.3M", 45_678 → "45.7k". */
export function formatOps(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 1 : 2)}M`
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e4 ? 1 : 2)}k`
  return value.toFixed(0)
}

export function formatRatio(value: number | undefined): string {
  if (value === undefined) return '—'
  return value >= 10 ? `${value.toFixed(0)}x` : `${value.toFixed(2)}x`
}

function cell(summary: Summary | undefined): string {
  if (summary === undefined) return '—'
  return `${formatOps(summary.median)} (${formatOps(summary.min)}–${formatOps(summary.max)})`
}

/** The throughput table as Markdown rows (also readable in a terminal). */
export function throughputTable(scenarios: readonly ScenarioResult[]): string {
  const head = [
    '| scenario | tiercache | raw floor | bentocache | cache-manager | vs raw | vs bentocache | vs cache-manager |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  const rows = scenarios.map((s) =>
    [
      s.title,
      cell(s.opsPerSec.tiercache),
      cell(s.opsPerSec.raw),
      cell(s.opsPerSec.bentocache),
      cell(s.opsPerSec['cache-manager']),
      formatRatio(s.ratios.raw),
      formatRatio(s.ratios.bentocache),
      formatRatio(s.ratios['cache-manager']),
    ].join(' | '),
  )
  return [...head, ...rows.map((row) => `| ${row} |`)].join('\n')
}

/** Facts (stampede, round trips, invalidation delay) as Markdown rows. */
export function factsTable(facts: readonly Fact[]): string {
  if (facts.length === 0) return ''
  const lines = ['| measurement | contender | result |', '| --- | --- | --- |']
  for (const fact of facts) {
    const values = Object.entries(fact.values)
      .map(([name, value]) => `${name} ${Number.isInteger(value) ? value : value.toFixed(2)}`)
      .join(', ')
    lines.push(`| ${fact.title} | ${fact.contender} | ${values} |`)
  }
  return lines.join('\n')
}
