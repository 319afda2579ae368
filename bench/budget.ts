/**
 * The performance budget: ratios of tiercache to the raw libraries and to the peers, all
 * measured in the same run (so the machine's speed cancels out), plus two exact counts.
 * `npm run bench -- --check` exits non-zero when one is missed.
 */
import type { Results } from './report.js'

export interface BudgetLine {
  rule: string
  /** Measured value (a ratio or a count); undefined when the scenario did not run (`--filter`). */
  actual: number | undefined
  target: string
  pass: boolean | undefined
}

interface RatioRule {
  /** Scenario id prefix: every size of it is checked. */
  scenario: string
  against: 'raw' | 'bentocache'
  atLeast: number
  label: string
}

const RATIO_RULES: RatioRule[] = [
  // Issue 13: L1 hits with one bound for every namespace stay within 0.8x of a bare lru-cache.get.
  { scenario: 'l1-get/', against: 'raw', atLeast: 0.8, label: 'awaited L1-hit get vs async lru-cache.get' },
  { scenario: 'l1-get/', against: 'bentocache', atLeast: 10, label: 'awaited L1-hit get vs bentocache' },
  // Issue 15: metrics registered and tracing attached cost nothing on the L1-hit path.
  {
    scenario: 'l1-observed/',
    against: 'raw',
    atLeast: 0.6,
    label: 'awaited L1-hit get, metrics + tracing attached, vs async lru-cache.get',
  },
  { scenario: 'l2-get/c100/', against: 'raw', atLeast: 0.8, label: 'L2-hit get, 100 in flight, vs ioredis + codec' },
  { scenario: 'l2-get/c100/', against: 'bentocache', atLeast: 1.5, label: 'L2-hit get, 100 in flight, vs bentocache' },
  { scenario: 'l2-get/c1/', against: 'raw', atLeast: 0.8, label: 'L2-hit get, 1 in flight, vs ioredis + codec' },
  // Issue 13: 10 independent callers (reads arriving in different ticks) at least match raw GETs.
  { scenario: 'l2-get/c10/', against: 'raw', atLeast: 1.0, label: 'L2-hit get, 10 in flight, vs ioredis + codec' },
  { scenario: 'set/', against: 'raw', atLeast: 0.8, label: 'set vs ioredis set + codec' },
  // Issue 5: coalesced reads beat raw GETs at 100 in flight; a cold getOrSet (2 round trips) beats bentocache's 3.
  {
    scenario: 'l2-get/c100/',
    against: 'raw',
    atLeast: 1.2,
    label: 'L2-hit get, 100 in flight, vs ioredis + codec (coalesced)',
  },
  { scenario: 'miss-getorset/', against: 'bentocache', atLeast: 1.3, label: 'cold getOrSet vs bentocache' },
  // Issue 12: a warming run with loadMany keeps up with a plain loop of pipelined SETs.
  { scenario: 'warm-loadmany/', against: 'raw', atLeast: 0.7, label: 'warming with loadMany vs pipelined SETs' },

  // Issue 11: a per-field session update vs the whole-object SET of the common store.
  { scenario: 'session-update/1KB', against: 'raw', atLeast: 0.8, label: 'session update vs whole-object SET' },
  { scenario: 'session-update/20KB', against: 'raw', atLeast: 1.0, label: 'session update vs whole-object SET' },
]

export function checkBudget(results: Results): BudgetLine[] {
  const lines: BudgetLine[] = []
  for (const rule of RATIO_RULES) {
    const matching = results.scenarios.filter((s) => s.id.startsWith(rule.scenario))
    if (matching.length === 0)
      lines.push({ rule: rule.label, actual: undefined, target: `≥ ${rule.atLeast}x`, pass: undefined })
    for (const scenario of matching) {
      const actual = scenario.ratios[rule.against]
      lines.push({
        rule: `${rule.label} (${scenario.id.split('/').pop()})`,
        actual,
        target: `≥ ${rule.atLeast}x`,
        pass: actual === undefined ? undefined : actual >= rule.atLeast,
      })
    }
  }
  const stampede = results.facts.find((f) => f.id === 'stampede' && f.contender === 'tiercache')
  const calls = stampede?.values.factoryCalls
  lines.push({
    rule: 'stampede: factory calls',
    actual: calls,
    target: '= 1',
    pass: calls === undefined ? undefined : calls === 1,
  })
  const many = results.facts.find((f) => f.id === 'getmany-roundtrips' && f.contender === 'tiercache')
  const commands = many?.values.commands
  lines.push({
    rule: 'getMany of 100 keys: Redis commands for the L2 part',
    actual: commands,
    target: '= 1',
    pass: commands === undefined ? undefined : commands === 1,
  })
  // Issue 16: a cached route within 0.8x of a constant-string route with no cache, per framework.
  for (const fact of results.facts.filter((f) => f.id.startsWith('http/'))) {
    const ratio = fact.values.cachedVsConstant
    lines.push({
      rule: `${fact.id.slice(5)}: cached route vs constant-string route`,
      actual: ratio,
      target: '≥ 0.8x',
      pass: ratio === undefined ? undefined : ratio >= 0.8,
    })
  }
  return lines
}

export function budgetTable(lines: readonly BudgetLine[]): string {
  const rows = ['| budget | target | measured | result |', '| --- | --- | ---: | --- |']
  for (const line of lines) {
    const actual =
      line.actual === undefined
        ? '—'
        : Number.isInteger(line.actual)
          ? String(line.actual)
          : `${line.actual.toFixed(2)}x`
    const result = line.pass === undefined ? 'not run' : line.pass ? 'pass' : '**FAIL**'
    rows.push(`| ${line.rule} | ${line.target} | ${actual} | ${result} |`)
  }
  return rows.join('\n')
}
