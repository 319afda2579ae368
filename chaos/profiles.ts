/**
 * The two sizes of a chaos run: `full` (`npm run chaos`: a few minutes on 2 cores) and `quick` (the short
 * version in `npm test`, under a minute). Same faults, same checks; the quick one holds each fault for less.
 */
import type { RunOptions } from './harness.js'
import { FAULTS } from './faults/index.js'

type Profile = Omit<RunOptions, 'seed' | 'log'>

const workload: RunOptions['workload'] = {
  keys: 1000,
  hotKeys: 200,
  hotShare: 0.8,
  groups: 100,
  l2TimeoutMs: 500,
  lockShare: 0.1,
  lockTimeoutMs: 1000,
  maxDbDelayMs: 20,
}

export const PROFILES: Readonly<Record<'full' | 'quick', Profile>> = {
  full: {
    nodes: 3,
    faults: FAULTS,
    holdMs: 3000,
    recoveryCapMs: 10_000,
    settleMs: 1000,
    clients: 12,
    thinkMs: 4,
    hangSlackMs: 2000,
    workload,
  },
  quick: {
    nodes: 3,
    faults: FAULTS,
    holdMs: 1000,
    recoveryCapMs: 8000,
    settleMs: 400,
    clients: 9,
    thinkMs: 4,
    hangSlackMs: 2000,
    workload,
  },
}
