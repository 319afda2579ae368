/**
 * `npx tsx bench/reconnect_load.ts [--entries 50000] [--changed 500] [--size 100B|10KB]`
 *
 * What a bus outage costs Redis when it ends, for one server holding `entries` L1 entries of which `changed`
 * were rewritten while it was deaf, against a redis-server this script starts:
 *
 * - revalidation (tiercache): the server's subscriber is killed and comes back; it checks its L1 against
 *   Redis and drops what changed. Measured: the calls, CPU and bytes Redis handled from the moment the
 *   subscription came back until `bus:state` `up`, then while the server reads its whole hot set once.
 * - drop-all (what tiercache did before, and what peers do): the same server with an empty L1 reads its
 *   whole hot set once (100 reads in flight), every read going to Redis.
 *
 * Redis's own counters (INFO commandstats, cpu and stats: calls, CPU time, network bytes) are read before and
 * after each phase; nothing else talks to this Redis meanwhile.
 */
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { createCache, type Cache } from '../src/index.js'
import { killSubscriber } from '../test/support/chaos.js'
import { RedisServer } from '../test/support/redis_server.js'
import { inFlight } from './harness.js'
import { makeValue, type ValueSize } from './values.js'

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '50000' },
    changed: { type: 'string', default: '500' },
    size: { type: 'string', default: '100B' },
  },
})
const entries = Number(args.entries)
const changedCount = Number(args.changed)
const value = makeValue(args.size as ValueSize)

const server = await RedisServer.start()
const admin = new Redis(server.url)

interface Load {
  /** Read and script calls clients sent: EVALSHA/EVAL, GET, MGET (revalidation's scripts run GETRANGE inside). */
  sent: number
  /** Redis's CPU time (user + system), ms. */
  cpu: number
  inBytes: number
  outBytes: number
}
async function counters(): Promise<Load> {
  const info = `${await admin.info('stats')}${await admin.info('cpu')}${await admin.info('commandstats')}`
  const read = (pattern: string): number => Number(new RegExp(pattern).exec(info)?.[1] ?? 0)
  return {
    sent: ['evalsha', 'eval', 'get', 'mget'].reduce((n, name) => n + read(`cmdstat_${name}:calls=(\\d+)`), 0),
    cpu: (read('used_cpu_user:([\\d.]+)') + read('used_cpu_sys:([\\d.]+)')) * 1000,
    inBytes: read('total_net_input_bytes:(\\d+)'),
    outBytes: read('total_net_output_bytes:(\\d+)'),
  }
}
async function measure(action: () => Promise<unknown>): Promise<Load & { ms: number }> {
  const before = await counters()
  const started = performance.now()
  await action()
  const ms = performance.now() - started
  const after = await counters()
  return {
    sent: after.sent - before.sent,
    cpu: after.cpu - before.cpu,
    inBytes: after.inBytes - before.inBytes,
    outBytes: after.outBytes - before.outBytes,
    ms,
  }
}

const keys = Array.from({ length: entries }, (_, i) => `k${i}`)
const writer = createCache({ redis: server.url, namespace: 'app', l1: false })
for (let i = 0; i < keys.length; i += 1000) await writer.setMany(keys.slice(i, i + 1000).map((key) => ({ key, value })))

async function node(): Promise<Cache> {
  const client = new Redis(server.url, { retryStrategy: () => 200 })
  const cache = createCache({ redis: client, namespace: 'app', l1: { maxEntries: entries * 2, maxBytes: 2 ** 31 } })
  await cache.ready()
  return cache
}
const readAll = (cache: Cache): Promise<void> => inFlight(100, keys.length, (i) => cache.get(keys[i] as string))

// Revalidation.
const b = await node()
await readAll(b) // the hot set, in L1
const down = new Promise<void>((resolve) => b.on('bus:state', (s) => s.state === 'down' && resolve()))
await killSubscriber(server, b)
await down
await writer.setMany(keys.slice(0, changedCount).map((key) => ({ key, value: { ...value, id: -1 } })))
let dropped = 0
const reconnect = await measure(
  () =>
    new Promise<void>((resolve) => b.on('bus:state', (s) => s.state === 'up' && ((dropped = s.dropped), resolve()))),
)
const afterRevalidation = await measure(() => readAll(b))

// Drop-all: the same hot set read by a server whose L1 is empty.
const c = await node()
const afterDropAll = await measure(() => readAll(c))

const columns = ['calls sent', 'Redis CPU ms', 'KiB in', 'KiB out', 'wall ms']
const row = (name: string, load: Load & { ms: number }): string =>
  name.padEnd(42) +
  [load.sent, load.cpu, load.inBytes / 1024, load.outBytes / 1024, load.ms]
    .map((n, i) => n.toFixed(0).padStart((columns[i] as string).length + 2))
    .join('')
process.stdout.write(
  `${entries} L1 entries of ${args.size}, ${changedCount} changed while deaf; revalidation dropped ${dropped}\n`,
)
process.stdout.write(`${''.padEnd(42)}${columns.map((c) => `  ${c}`).join('')}\n`)
process.stdout.write(`${row('revalidation: reconnect until up', reconnect)}\n`)
process.stdout.write(`${row('revalidation: then reading the hot set', afterRevalidation)}\n`)
process.stdout.write(`${row('drop-all: reading the hot set again', afterDropAll)}\n`)
await Promise.all([b.close(), c.close(), writer.close()])
admin.disconnect()
await server.close()
process.exit(0)
