// The bench's arithmetic (not its timings): medians, paired ratios, and the budget verdicts
// that `npm run bench -- --check` turns into an exit code.
import { describe, expect, it } from 'vitest'
import { checkBudget } from '../../bench/budget.js'
import { summarize } from '../../bench/harness.js'
import { withRatios, type Results } from '../../bench/report.js'

function results(scenarios: Results['scenarios'], facts: Results['facts'] = []): Results {
  return { date: '', node: '', platform: '', cpus: 2, redis: '', settings: {}, scenarios, facts, notes: [] }
}

describe('bench arithmetic', () => {
  it('summarizes runs as median, min and max, keeping the runs in order', () => {
    expect(summarize([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: [3, 1, 2] })
    expect(summarize([4, 1, 2, 3]).median).toBe(2.5)
  })

  it('takes ratios run by run, so a slow run slows both sides of its pair', () => {
    // Run 2 was slow for everyone: the paired ratio stays 0.5, the ratio of medians would not.
    const result = withRatios('x', 'x', { tiercache: summarize([50, 10, 50]), raw: summarize([100, 20, 100]) })
    expect(result.ratios.raw).toBe(0.5)
    expect(result.ratios.bentocache).toBeUndefined()
  })

  it('passes, fails and skips budget lines', () => {
    const scenarios = [
      withRatios('l1-get/100B', 'l1', {
        tiercache: summarize([85]),
        raw: summarize([100]),
        bentocache: summarize([1]),
      }),
      withRatios('set/100B', 'set', { tiercache: summarize([70]), raw: summarize([100]) }),
    ]
    const facts = [{ id: 'stampede', title: '', contender: 'tiercache', values: { factoryCalls: 1, totalMs: 50 } }]
    const lines = checkBudget(results(scenarios, facts))
    const verdict = (start: string): Array<boolean | undefined> =>
      lines.filter((l) => l.rule.startsWith(start)).map((l) => l.pass)
    expect(verdict('awaited L1-hit get vs async')).toEqual([true])
    expect(verdict('awaited L1-hit get vs bentocache')).toEqual([true])
    expect(verdict('set vs')).toEqual([false])
    expect(verdict('stampede')).toEqual([true])
    expect(verdict('getMany')).toEqual([undefined]) // not run
    expect(verdict('L2-hit get, 100')).toEqual([undefined, undefined, undefined]) // vs raw (0.8x and the coalesced 1.2x), vs bentocache
    expect(verdict('cold getOrSet')).toEqual([undefined])
  })
})
