/**
 * `npx tsx bench/compare_builds.ts --baseline <checkout> [--runs N] [--time MS]`
 *
 * Measures this checkout's build (dist/) and another checkout's build (<checkout>/dist, e.g. the previous
 * release or the commit before a change) side by side in one run, against one redis-server it starts itself:
 * `set`, a cold-miss `getOrSet`, L2-hit `get` at 1, 10 and 100 in flight, and an L2-hit `getOrSet`. Runs are
 * interleaved (the order of the two builds rotates) and each line prints both medians and their ratio, so a
 * change's cost is measured on the same machine at the same moment. Build both first (`npm run build`).
 */
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { RedisServer } from '../test/support/redis_server.js'
import { inFlight, summarize, throughput, type Task, type Timing } from './harness.js'
import { makeValue, type ValueSize } from './values.js'

interface Build {
  name: string
  createCache: (options: object) => {
    set(key: string, value: unknown): Promise<void>
    get(key: string): Promise<unknown>
    getOrSet(key: string, factory: () => unknown): Promise<unknown>
    close(): Promise<void>
  }
}

const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    runs: { type: 'string', default: '9' },
    time: { type: 'string', default: '100' },
  },
})
if (args.baseline === undefined) {
  process.stderr.write('usage: npx tsx bench/compare_builds.ts --baseline <checkout with a built dist/>\n')
  process.exit(2)
}

async function load(name: string, dir: string): Promise<Build> {
  const mod = (await import(pathToFileURL(resolve(dir, 'dist/index.js')).href)) as Build
  return { name, createCache: mod.createCache }
}

const builds = [await load('this', '.'), await load('baseline', args.baseline)]
const server = await RedisServer.start()
const timing: Timing = { time: Number(args.time), warmupTime: 50 }
const runs = Number(args.runs)

type Scenario = { id: string; tasks: (build: Build, i: number) => Promise<Task> }

const KEYS = 100
const scenarios: Scenario[] = []
for (const namespaces of [1, 200]) {
  scenarios.push({
    id: `l1-get/${namespaces}ns`,
    tasks: async (build, b) => {
      const root = build.createCache({ namespace: `l1${b}` }) as ReturnType<Build['createCache']> & {
        namespace(name: string): ReturnType<Build['createCache']>
      }
      const caches = Array.from({ length: namespaces }, (_, n) => (namespaces === 1 ? root : root.namespace(`n${n}`)))
      for (const cache of caches) for (let i = 0; i < KEYS; i++) await cache.set(`k${i}`, i)
      const cache = caches[0] as ReturnType<Build['createCache']>
      return {
        ops: 10_000,
        batch: async () => {
          for (let i = 0; i < 10_000; i++) await cache.get(`k${i % KEYS}`)
        },
      }
    },
  })
}
for (const size of ['100B', '10KB'] as ValueSize[]) {
  const value = makeValue(size)
  scenarios.push({
    id: `set/${size}`,
    tasks: async (build, b) => {
      const cache = build.createCache({ redis: server.url, namespace: `set${b}` })
      return { ops: 200, batch: () => inFlight(1, 200, (i) => cache.set(`k${i % KEYS}`, value)) }
    },
  })
  let fresh = 0
  scenarios.push({
    id: `miss-getorset/${size}`,
    tasks: async (build, b) => {
      const cache = build.createCache({ redis: server.url, namespace: `miss${b}` })
      return { ops: 200, batch: () => inFlight(1, 200, () => cache.getOrSet(`m${fresh++}`, () => value)) }
    },
  })
  for (const n of [1, 10, 100]) {
    scenarios.push({
      id: `l2-get/c${n}/${size}`,
      tasks: async (build, b) => {
        const cache = build.createCache({ redis: server.url, namespace: `l2${b}`, l1: false })
        for (let i = 0; i < KEYS; i++) await cache.set(`k${i}`, value)
        const ops = n === 1 ? 200 : 5000
        return { ops, batch: () => inFlight(n, ops, (i) => cache.get(`k${i % KEYS}`)) }
      },
    })
  }
  scenarios.push({
    id: `l2-getorset/c10/${size}`,
    tasks: async (build, b) => {
      const cache = build.createCache({ redis: server.url, namespace: `l2g${b}`, l1: false })
      for (let i = 0; i < KEYS; i++) await cache.set(`k${i}`, value)
      return { ops: 5000, batch: () => inFlight(10, 5000, (i) => cache.getOrSet(`k${i % KEYS}`, () => value)) }
    },
  })
}

const pad = (text: string, n: number): string => text.padEnd(n)
process.stdout.write(
  `${pad('scenario', 24)}${pad('this', 12)}${pad('baseline', 12)}this ÷ baseline (median of ${runs})\n`,
)
for (const scenario of scenarios) {
  const tasks = await Promise.all(builds.map((build, b) => scenario.tasks(build, b)))
  const samples: number[][] = builds.map(() => [])
  for (let run = 0; run < runs; run++) {
    for (let j = 0; j < builds.length; j++) {
      const b = (run + j) % builds.length
      samples[b]?.push(await throughput(tasks[b] as Task, timing))
    }
  }
  const [mine, base] = samples.map((s) => summarize(s).median) as [number, number]
  const ratios = (samples[0] as number[]).map((v, i) => v / ((samples[1] as number[])[i] as number))
  const ratio = summarize(ratios).median
  process.stdout.write(
    `${pad(scenario.id, 24)}${pad(Math.round(mine).toLocaleString('en'), 12)}${pad(Math.round(base).toLocaleString('en'), 12)}${ratio.toFixed(2)}x\n`,
  )
}
await server.close()
process.exit(0)
