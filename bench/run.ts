/**
 * `npm run bench [-- --filter <substring>] [--check] [--runs N] [--time MS] [--svg PATH]`
 *
 * Starts its own redis-server on a free loopback port, measures every scenario for tiercache,
 * the raw libraries and the peers in the same run (runs interleaved, contenders in rotating
 * order), prints the table and the budget, writes bench/results/latest.json and bench.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { RedisServer } from '../test/support/redis_server.js'
import { budgetTable, checkBudget } from './budget.js'
import { renderChart } from './chart.js'
import { summarize, throughput, type Fact, type Scenario, type Summary, type Timing } from './harness.js'
import { createPeers, L1_ENTRIES, TTL_MS } from './peers.js'
import {
  ALL,
  factsTable,
  formatOps,
  formatRatio,
  throughputTable,
  withRatios,
  type Results,
  type ScenarioResult,
} from './report.js'
import { getManyScenario } from './scenarios/get_many.js'
import { httpScenario } from './scenarios/http.js'
import { invalidationDelay } from './scenarios/invalidation.js'
import { l1Scenarios } from './scenarios/l1_hits.js'
import { l2Scenarios } from './scenarios/l2_hits.js'
import { observedScenario } from './scenarios/observed.js'
import { replicaScenarios } from './scenarios/replica_reads.js'
import { SESSION_SIZES, sessionScenarios } from './scenarios/sessions.js'
import { stampede } from './scenarios/stampede.js'
import { writeScenarios } from './scenarios/writes.js'
import { warmingScenarios } from './scenarios/warming.js'
import { VALUE_SIZES } from './values.js'

const USAGE = `npm run bench -- [options]
  --filter <substring>  run only scenarios whose id contains it (repeatable), e.g. l1-get, l2-get/c100, 10KB, stampede
  --check               exit 1 when a budget ratio is missed
  --runs <n>            measurements per contender and scenario (default 11); the table shows median, min and max
  --time <ms>           time budget of one measurement (default 100)
  --svg <path>          also write the chart there (e.g. docs/bench.svg)`

const { values: args } = parseArgs({
  options: {
    filter: { type: 'string', multiple: true },
    check: { type: 'boolean', default: false },
    runs: { type: 'string', default: '11' },
    time: { type: 'string', default: '100' },
    svg: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})

function positive(text: string, name: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1)
    throw new TypeError(`Expected --${name} to be a whole number from 1 and up, got ${text}`)
  return n
}

const selected = (id: string): boolean => args.filter === undefined || args.filter.some((f) => id.includes(f))

async function measure(scenario: Scenario, runs: number, timing: Timing): Promise<ScenarioResult> {
  await scenario.setup?.()
  const contenders = ALL.filter((c) => scenario.tasks[c] !== undefined)
  for (const c of contenders) await scenario.tasks[c]?.check?.()
  const samples = new Map<string, number[]>(contenders.map((c) => [c, []]))
  for (let run = 0; run < runs; run++) {
    // Rotate the order so that no contender always runs first (or right after a GC-heavy one).
    for (let j = 0; j < contenders.length; j++) {
      const contender = contenders[(run + j) % contenders.length] as (typeof ALL)[number]
      samples
        .get(contender)
        ?.push(await throughput(scenario.tasks[contender] as NonNullable<Scenario['tasks']['raw']>, timing))
    }
  }
  await scenario.teardown?.()
  const opsPerSec: Partial<Record<(typeof ALL)[number], Summary>> = {}
  for (const c of contenders) opsPerSec[c] = summarize(samples.get(c) ?? [])
  return withRatios(scenario.id, scenario.title, opsPerSec)
}

function progress(result: ScenarioResult): void {
  const parts = ALL.filter((c) => result.opsPerSec[c] !== undefined).map(
    (c) => `${c} ${formatOps(result.opsPerSec[c]?.median ?? 0)}`,
  )
  const ratios = Object.entries(result.ratios).map(([peer, r]) => `×${peer} ${formatRatio(r)}`)
  console.log(`  ${result.id.padEnd(22)} ${parts.join('  ')}  |  ${ratios.join('  ')}`)
}

async function main(): Promise<number> {
  if (args.help) {
    console.log(USAGE)
    return 0
  }
  const runs = positive(args.runs, 'runs')
  const timing: Timing = { time: positive(args.time, 'time'), warmupTime: 50 }
  const server = await RedisServer.start()
  const peers = await createPeers(server.url)
  const notes: string[] = []
  let observed: ReturnType<typeof observedScenario> | undefined
  let replicas: ReturnType<typeof replicaScenarios> | undefined
  try {
    const redisVersion = /redis_version:(\S+)/.exec(await peers.raw.redis.info('server'))?.[1] ?? '?'
    console.log(
      `tiercache bench: Node ${process.version}, ${cpus().length} cores, Redis ${redisVersion} on ${server.url}`,
    )
    console.log(`${runs} runs × ${timing.time} ms per contender and scenario; ops/s medians\n`)

    const getMany = getManyScenario(peers)
    observed = observedScenario(peers, server.url)
    replicas = replicaScenarios(peers, server.url, VALUE_SIZES)
    const scenarios: Scenario[] = [
      ...VALUE_SIZES.flatMap((size) => l1Scenarios(peers, size)),
      observed.scenario, // issue 15: next to l1-get, with every observer attached
      ...VALUE_SIZES.flatMap((size) => l2Scenarios(peers, size)),
      ...replicas.scenarios, // issue 17: next to l2-get, read from a replica
      ...VALUE_SIZES.flatMap((size) => writeScenarios(peers, size)),
      getMany.scenario,
      ...warmingScenarios(peers),

      ...SESSION_SIZES.flatMap((size) => sessionScenarios(peers, size)),
    ].filter((s) => selected(s.id))

    const results: ScenarioResult[] = []
    for (const scenario of scenarios) {
      const result = await measure(scenario, runs, timing)
      results.push(result)
      progress(result)
    }

    const facts: Fact[] = []
    if (selected('getmany-roundtrips')) facts.push(...(await getMany.roundTrips()))
    if (selected('stampede')) facts.push(...(await stampede(peers, 3)))
    // Issue 3: p50/p99 over at least 1,000 writes.
    if (selected('invalidation')) facts.push(...(await invalidationDelay(server.url, 1000, notes)))
    // Issue 16: tiercache/http under autocannon, a real server in a child process.
    if (selected('http')) facts.push(...(await httpScenario(server.url, { duration: 1.5, runs: 5, connections: 50 })))

    const report: Results = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      redis: `Redis ${redisVersion}`,
      settings: {
        runs,
        timeMs: timing.time,
        warmupMs: timing.warmupTime,
        ttlMs: TTL_MS,
        l1Entries: L1_ENTRIES,
        filter: args.filter ?? null,
      },
      scenarios: results,
      facts,
      notes,
    }
    const budget = checkBudget(report)
    console.log(`\n${throughputTable(results)}\n`)
    if (facts.length > 0) console.log(`${factsTable(facts)}\n`)
    console.log(`${budgetTable(budget)}\n`)
    for (const note of notes) console.log(`note: ${note}`)

    const dir = join(dirname(fileURLToPath(import.meta.url)), 'results')
    mkdirSync(dir, { recursive: true })
    const json = JSON.stringify({ ...report, budget }, null, 2)
    writeFileSync(join(dir, 'latest.json'), json)
    writeFileSync(join(dir, `${report.date.replace(/[:.]/g, '-')}.json`), json)
    const svg = renderChart(report)
    writeFileSync(join(dir, 'bench.svg'), svg)
    if (args.svg !== undefined) writeFileSync(args.svg, svg)
    console.log(
      `results: ${join(dir, 'latest.json')}, chart: ${join(dir, 'bench.svg')}${args.svg === undefined ? '' : ` and ${args.svg}`}`,
    )

    const missed = budget.filter((line) => line.pass === false)
    if (args.check && missed.length > 0) {
      console.error(`budget missed: ${missed.map((line) => line.rule).join('; ')}`)
      return 1
    }
    return 0
  } finally {
    await observed?.close()
    await replicas?.close()
    await peers.close()
    await server.close()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error)
    process.exit(2)
  },
)
