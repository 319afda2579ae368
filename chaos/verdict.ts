/**
 * What fails a chaos run: per phase, stale reads beyond its allowance, reads going backwards on a node, wrong
 * values, hung calls, unhandled rejections, crashes, a node that did not recover, and the failed checks of
 * the fault. Each is a violation with an id (`<fault>/<kind>`); those listed in expected_failures.ts are
 * expected (issue 10) and do not fail the run.
 */
import type { PhaseStats, StaleSample } from './checker.js'
import { expectedEntry, expectedFailure } from './expected_failures.js'
import type { Fault } from './fault.js'

/** The kinds of violation every phase is checked for (besides the checks of its fault). */
const KINDS = [
  'stale reads',
  'stale reads while a tag time went back',
  'reads going backwards',
  'wrong values',
  'hung calls',
  'unhandled rejections and crashes',
  'recovery',
] as const

export interface Violation {
  id: string
  detail: string
  /** Why it is expected (issue 10), when it is. */
  expected?: string
}

function describeSample(s: StaleSample): string {
  return `node ${s.node} ${s.entity}: v${s.returned} (${s.how}) ${Math.round(s.latenessMs)} ms after v${s.newer} was acknowledged by ${s.newerBy}`
}

export function violationsOf(phase: PhaseStats, fault: Fault | undefined): Violation[] {
  const out: Violation[] = []
  const add = (kind: string, detail: string): void => {
    const id = `${phase.name}/${kind}`
    const expected = expectedFailure(id)
    out.push(expected === undefined ? { id, detail } : { id, detail, expected })
  }
  const except = fault?.staleExpectedOn ?? []
  const stale = phase.staleBeyond(phase.allowanceMs, except)
  if (stale > 0) {
    const samples = phase.staleSamples
      .filter((s) => !except.includes(s.node))
      .slice(0, 5)
      .map(describeSample)
    add('stale reads', `${stale} beyond ${phase.allowanceMs} ms; ${samples.join('; ')}`)
  }
  const wentBack = phase.staleWhileTagTimeWentBack.filter((s) => s.latenessMs > phase.allowanceMs).length
  if (wentBack > 0)
    add(
      'stale reads while a tag time went back',
      `${wentBack} beyond ${phase.allowanceMs} ms; ${phase.tagTimeSamples.map(describeSample).join('; ')}`,
    )
  if (phase.backwards > 0) add('reads going backwards', `${phase.backwards}: ${phase.backwardSamples.join('; ')}`)
  if (phase.wrong > 0) add('wrong values', `${phase.wrong}: ${phase.wrongSamples.join('; ')}`)
  if (phase.hung > 0) add('hung calls', `${phase.hung}: ${phase.hungSamples.join('; ')}`)
  if (phase.unhandled > 0 || phase.crashes > 0)
    add(
      'unhandled rejections and crashes',
      `${phase.unhandled} unhandled, ${phase.crashes} crashes: ${phase.incidents.join('; ')}`,
    )
  const stuck = Object.entries(phase.recovery).filter(([, r]) => r.l2Ms === undefined || r.busMs === undefined)
  if (stuck.length > 0)
    add(
      'recovery',
      stuck
        .map(
          ([id, r]) =>
            `node ${id}: Redis write ${r.l2Ms === undefined ? 'never' : 'ok'}, bus ${r.busMs === undefined ? 'never up' : 'up'}`,
        )
        .join('; '),
    )
  for (const result of phase.checks) {
    if (result.ok) continue
    const expected = expectedFailure(result.id)
    out.push(expected === undefined ? { id: result.id, detail: result.detail } : { ...result, expected })
  }
  return out
}

export interface Verdict {
  ok: boolean
  violations: Violation[]
  /** Listed in expected_failures.ts, yet passed in this run: delete their lines once the fix is in. */
  nowPassing: string[]
}

export function verdictOf(
  phases: readonly PhaseStats[],
  faults: readonly Fault[],
  harnessErrors: readonly string[],
): Verdict {
  const violations = phases.flatMap((phase) =>
    violationsOf(
      phase,
      faults.find((f) => f.name === phase.name),
    ),
  )
  for (const error of harnessErrors) violations.push({ id: 'harness/error', detail: error })
  const failed = new Set(violations.map((v) => v.id))
  const ran = phases.flatMap((phase) => [
    ...KINDS.map((kind) => `${phase.name}/${kind}`),
    ...phase.checks.map((c) => c.id),
  ])
  // An entry (a wildcard one covers a check under every fault) now passes when no check it covers failed in this run.
  const entries = new Map<string, boolean>()
  for (const id of ran) {
    const entry = expectedEntry(id)
    if (entry !== undefined) entries.set(entry, (entries.get(entry) ?? false) || failed.has(id))
  }
  const nowPassing = [...entries].filter(([, anyFailed]) => !anyFailed).map(([entry]) => entry)
  return { ok: violations.every((v) => v.expected !== undefined), violations, nowPassing }
}
