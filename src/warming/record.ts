/**
 * The run record: what every server can read about a job's runs, kept in Redis beside the cache's
 * namespace. One hash per job (`<prefix>:<namespace>:!warm:<job>:runs`, which no cache key can collide
 * with: a namespace cannot contain `!`), with two fields per shard: `<i/n>`, the last finished run (and
 * the time of the last successful one), and `<i/n>:running`, the run in progress, refreshed with each
 * lease heartbeat. A crashed run leaves its `running` field behind; readers see it as stale once it is
 * older than its lease TTL.
 */
import { hostname } from 'node:os'
import type { Cache } from '../index.js'
import { redisOf, redisPrefixOf, type RedisConnection } from '../seam.js'
import type { Tally, WarmReport } from './tally.js'

/** How a run ended. */
export type WarmOutcome = 'completed' | 'cancelled' | 'lease-lost' | 'failed'

/** Counts of a run so far. */
export interface WarmCounts {
  /** Keys taken from the source (after the shard filter and `limit`). */
  taken: number
  warmed: number
  skipped: number
  failed: number
}

/** The last finished run of a job's shard. */
export interface WarmRunRecord extends WarmCounts {
  job: string
  /** `'i/n'`; `'0/1'` for an unsharded run. */
  shard: string
  outcome: WarmOutcome
  /** Epoch ms. */
  startedAt: number
  finishedAt: number
  durationMs: number
  itemsPerSecond: number
  /** When a run of this shard last completed with nothing failed (epoch ms), or null if none has. */
  lastSuccessAt: number | null
  host: string
  pid: number
}

/** A run in progress (as of its last heartbeat). */
export interface WarmRunningRecord extends WarmCounts {
  job: string
  shard: string
  startedAt: number
  /** Its last heartbeat (epoch ms). */
  updatedAt: number
  /** Its lease TTL (ms): past `updatedAt + leaseTtl` without a newer heartbeat, the run is gone. */
  leaseTtl: number
  host: string
  pid: number
}

/** What Redis knows about one shard of a job. */
export interface WarmJobStatus {
  job: string
  shard: string
  last: WarmRunRecord | undefined
  /** The run in progress; `stale` when its heartbeats stopped (the process died) more than a lease TTL ago. */
  running: (WarmRunningRecord & { stale: boolean }) | undefined
}

/** The Redis keys of a job: its runs hash, and the lease of one shard. */
export function warmKeysOf(cache: Cache, job: string, shard: string): { runs: string; lease: string } {
  const base = `${warmBaseOf(cache)}${job}`
  return { runs: `${base}:runs`, lease: `${base}:lease:${shard}` }
}

/** `<prefix>:<namespace>:!warm:` (the namespace prefix `tc:shop::` with its last `:` turned into `:!warm:`). */
function warmBaseOf(cache: Cache): string {
  return `${redisPrefixOf(cache).slice(0, -1)}!warm:`
}

const host = hostname()

/** The `lastSuccessAt` of the shard's last record, or null. */
export async function lastSuccessOf(connection: RedisConnection, runs: string, shard: string): Promise<number | null> {
  const json = await connection.run('HGET', (client) => client.hget(runs, shard))
  const last = parse<WarmRunRecord>(json)
  return typeof last?.lastSuccessAt === 'number' ? last.lastSuccessAt : null
}

/** Refreshes the shard's `running` field from a run's tally. */
export async function writeRunning(
  connection: RedisConnection,
  runs: string,
  tally: Tally,
  startedAt: number,
  leaseTtl: number,
): Promise<void> {
  const { job, shard } = tally
  const counts = tally.counts()
  const running: WarmRunningRecord = {
    job,
    shard,
    ...counts,
    startedAt,
    updatedAt: Date.now(),
    leaseTtl,
    host,
    pid: process.pid,
  }
  await connection.run('HSET', (client) => client.hset(runs, `${shard}:running`, JSON.stringify(running)))
}

/**
 * Records a finished run (`lastSuccessAt` is now when it completed with nothing failed, else the previous one)
 * and clears the shard's `running` field, in one transaction.
 */
export async function writeFinished(
  connection: RedisConnection,
  runs: string,
  report: WarmReport,
  startedAt: number,
  lastSuccessAt: number | null,
): Promise<void> {
  const { job, shard, outcome, durationMs, taken, warmed, skipped, failed, itemsPerSecond } = report
  const finishedAt = Date.now()
  const success = outcome === 'completed' && failed === 0
  const record: WarmRunRecord = {
    job,
    shard,
    outcome,
    startedAt,
    finishedAt,
    durationMs,
    taken,
    warmed,
    skipped,
    failed,
    itemsPerSecond,
    lastSuccessAt: success ? finishedAt : lastSuccessAt,
    host,
    pid: process.pid,
  }
  const replies = await connection.run('warm record', (client) =>
    client.multi().hset(runs, shard, JSON.stringify(record)).hdel(runs, `${shard}:running`).exec(),
  )
  const failure = replies?.find(([error]) => error !== null)
  if (failure !== undefined) throw failure[0]
}

/**
 * What Redis knows about the warming runs of `cache`'s namespace: every shard of `job`, or of every job,
 * sorted by job and shard. Any server can call it (health pages, metrics, `warm-cache --status`).
 * Resolves [] for a cache without Redis; rejects with the L2 error when Redis fails.
 */
export async function readWarmRecords(cache: Cache, job?: string): Promise<WarmJobStatus[]> {
  const connection = redisOf(cache)
  if (connection === undefined) return []
  const keys: string[] = []
  if (job !== undefined) keys.push(warmKeysOf(cache, job, '0/1').runs)
  else for await (const batch of connection.scan(`${escapeGlob(warmBaseOf(cache))}*:runs`)) keys.push(...batch.keys)
  const now = Date.now()
  const statuses = new Map<string, WarmJobStatus>()
  for (const key of keys) {
    const fields = await connection.run('HGETALL', (client) => client.hgetall(key))
    for (const [field, json] of Object.entries(fields)) {
      const running = field.endsWith(':running')
      const record = parse<WarmRunRecord & WarmRunningRecord>(json)
      if (record === undefined || typeof record.job !== 'string' || typeof record.shard !== 'string') continue
      const id = `${record.job}\u0000${record.shard}`
      let status = statuses.get(id)
      if (status === undefined)
        statuses.set(id, (status = { job: record.job, shard: record.shard, last: undefined, running: undefined }))
      if (running) status.running = { ...record, stale: now - record.updatedAt > record.leaseTtl }
      else status.last = record
    }
  }
  return [...statuses.values()].sort((a, b) => compare(a.job, b.job) || compareShards(a.shard, b.shard))
}

function parse<T>(json: string | null | undefined): T | undefined {
  if (typeof json !== 'string') return undefined
  try {
    const value: unknown = JSON.parse(json)
    return typeof value === 'object' && value !== null ? (value as T) : undefined
  } catch {
    return undefined // garbage is no record
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function compareShards(a: string, b: string): number {
  const [ai = 0, an = 0] = a.split('/').map(Number)
  const [bi = 0, bn = 0] = b.split('/').map(Number)
  return an - bn || ai - bi
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
