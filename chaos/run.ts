/**
 * `npm run chaos [-- options]`: real faults on a real Redis under a steady workload; prints one row per fault
 * and exits 1 on any violation (see chaos/verdict.ts), 2 on bad usage. RELIABILITY.md explains every column.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { runChaos } from './harness.js'
import { PROFILES } from './profiles.js'
import { detailsOf, machineOf, tableOf } from './report.js'
import { verdictOf } from './verdict.js'

const USAGE = `npm run chaos -- [options]
  --quick             the short version (what npm test runs): each fault held 1 s instead of 3 s
  --faults <text>     run only the faults whose name contains it (repeatable; 'steady' is always first)
  --seed <n>          replay a run (default: random, printed)
  --nodes <n>         cache node processes (default 3)
  --hold <ms>         how long each fault holds
  --target <path>     import tiercache from this module (e.g. dist/index.js) instead of src/index.ts
  --json <path>       also write the whole report as JSON
  --markdown <path>   also write the table, machine and details as Markdown`

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`)
  process.exit(2)
}

function wholeNumber(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) fail(`Expected --${name} to be a whole number from 1 and up, got ${text}`)
  return n
}

let args
try {
  args = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      faults: { type: 'string', multiple: true },
      seed: { type: 'string' },
      nodes: { type: 'string' },
      hold: { type: 'string' },
      target: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }).values
} catch (error) {
  fail((error as Error).message)
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`)
  process.exit(0)
}

const profile = PROFILES[args.quick ? 'quick' : 'full']
const filters = args.faults ?? []
const faults = profile.faults.filter(
  (f, i) => i === 0 || filters.length === 0 || filters.some((text) => f.name.includes(text)),
)
if (faults.length === 1 && filters.length > 0) fail(`No fault matches ${filters.join(', ')}`)
const seed = wholeNumber(args.seed, 'seed', 1 + Math.floor(Math.random() * 2 ** 31))

const report = await runChaos({
  ...profile,
  faults,
  seed,
  nodes: wholeNumber(args.nodes, 'nodes', profile.nodes),
  holdMs: wholeNumber(args.hold, 'hold', profile.holdMs),
  ...(args.target !== undefined && { target: resolve(args.target) }),
  log: (line) => process.stdout.write(`  ${line}\n`),
})
const verdict = verdictOf(report.phases, report.faults, report.harnessErrors)
const text = `${tableOf(report, verdict)}\n\n${machineOf(report)}\n\n${detailsOf(report, verdict)}\n`
process.stdout.write(`\n${text}`)
process.stdout.write(
  verdict.ok
    ? `\nchaos: no violation (${verdict.violations.length} expected, listed in chaos/expected_failures.ts); seed ${seed}\n`
    : `\nchaos: ${verdict.violations.filter((v) => v.expected === undefined).length} violations; replay with --seed ${seed}\n`,
)
for (const [path, content] of [
  [args.json, JSON.stringify({ ...report, faults: undefined, verdict }, null, 2)],
  [args.markdown, text],
] as const) {
  if (path === undefined) continue
  mkdirSync(dirname(resolve(path)), { recursive: true })
  writeFileSync(path, content)
}
process.exit(verdict.ok ? 0 : 1)
