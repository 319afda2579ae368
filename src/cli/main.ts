/**
 * `tiercache` (bin.ts runs it): operator commands against a namespace in Redis, through a cache of its own (no
 * L1) and its public API, so that deletes, tag invalidations and clears are announced on the bus as the
 * application's own are. Exit codes: 0 done, 1 Redis failed (or health not ok), 2 bad usage (one line, no stack).
 */
import { inspect } from 'node:util'
import { CacheError, createCache, type Cache, type CacheHealth } from '../index.js'
import { packageVersion, UsageError } from '../internal/cli.js'
import { redisOf, redisPrefixOf, type RedisConnection } from '../seam.js'
import { parseCommandLine, USAGE, type CommandLine } from './args.js'

export interface Io {
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
  env: NodeJS.ProcessEnv
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let line: CommandLine
  let cache: Cache
  try {
    const parsed = parseCommandLine(argv, io.env)
    if (parsed === 'help') return (void io.stdout.write(`${USAGE}\n`), 0)
    if (parsed === 'version') return (void io.stdout.write(`${packageVersion()}\n`), 0)
    line = parsed
    cache = createCache({
      redis: line.redis,
      ...(line.namespace !== undefined && { namespace: line.namespace }),
      ...(line.prefix !== undefined && { prefix: line.prefix }),
      codec: line.codec,
      l1: false,
      l2: { timeout: line.timeout },
    })
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof TypeError)) throw error
    io.stderr.write(`tiercache: ${error.message}\n`)
    return 2
  }
  const failures: CacheError[] = []
  cache.on('l2:error', ({ operation, error }) => {
    if (operation !== 'connection') failures.push(error)
  })
  const print = (json: unknown, text: string): void =>
    void io.stdout.write(line.json ? `${toJson(json)}\n` : `${text}\n`)
  try {
    if (line.command === 'health') return await health(cache, line, print)
    const connection = redisOf(cache) as RedisConnection
    try {
      await connection.ping()
    } catch (error) {
      io.stderr.write(`tiercache: cannot reach Redis: ${(error as Error).message}\n`)
      return 1
    }
    await run(cache, connection, line, print)
    const failure = failures[0]
    if (failure === undefined) return 0
    io.stderr.write(`tiercache: ${line.command} failed: ${failure.message}\n`)
    return 1
  } catch (error) {
    if (!(error instanceof CacheError)) throw error
    io.stderr.write(`tiercache: ${line.command} failed: ${error.message}\n`)
    return 1
  } finally {
    await cache.close()
  }
}

type Print = (json: unknown, text: string) => void

async function run(cache: Cache, connection: RedisConnection, line: CommandLine, print: Print): Promise<void> {
  const { items } = line
  switch (line.command) {
    case 'get': {
      const key = items[0] as string
      const value = await cache.get(key)
      print(
        { key, found: value !== undefined, value },
        value === undefined ? '(not found)' : inspect(value, { depth: 10 }),
      )
      return
    }
    case 'delete': {
      const existed = await cache.deleteMany(items)
      print(
        { deleted: existed, keys: items },
        `deleted ${existed} of ${items.length} key${items.length === 1 ? '' : 's'}`,
      )
      return
    }
    case 'invalidate-tags':
      await cache.invalidateTags(items)
      print({ invalidated: items }, `invalidated ${items.map((tag) => `"${tag}"`).join(', ')} in "${cache.name}"`)
      return
    case 'clear':
      await cache.clear()
      print({ cleared: cache.name }, `cleared namespace "${cache.name}"`)
      return
    case 'stats': {
      const stats = await redisStats(cache, connection)
      print(
        stats,
        [
          `namespace: ${stats.namespace}`,
          `keys: ${stats.keys}`,
          `servers on the bus: ${stats.busListeners ?? 'unknown (CLIENT LIST refused)'}`,
          `redis hit ratio: ${stats.redis.hitRatio === null ? 'n/a' : `${(stats.redis.hitRatio * 100).toFixed(1)}%`}` +
            ` (${stats.redis.keyspaceHits} hits, ${stats.redis.keyspaceMisses} misses, every namespace)`,
        ].join('\n'),
      )
      return
    }
    case 'health':
      return
  }
}

async function health(cache: Cache, line: CommandLine, print: Print): Promise<number> {
  try {
    await cache.ready(line.timeout) // the bus subscribes: otherwise this command's own bus reads as down
  } catch {
    // reported by health() below
  }
  const report: CacheHealth = await cache.health(line.timeout)
  const l2 = report.l2
  print(
    report,
    [
      `status: ${report.status}`,
      `redis: ${l2?.ok === true ? `${l2.latencyMs?.toFixed(1)} ms` : `down (${l2?.error ?? 'no answer'})`}, circuit ${l2?.circuit}`,
      `bus: ${report.bus?.up === true ? 'up' : 'down'}`,
    ].join('\n'),
  )
  return report.status === 'ok' ? 0 : 1
}

interface RedisStats {
  namespace: string
  keys: number
  busListeners: number | null
  redis: { keyspaceHits: number; keyspaceMisses: number; hitRatio: number | null }
}

async function redisStats(cache: Cache, connection: RedisConnection): Promise<RedisStats> {
  let keys = 0
  for await (const batch of connection.scan(`${redisPrefixOf(cache)}*`)) keys += batch.keys.length
  let hits = 0
  let misses = 0
  let listeners: number | null = 0
  for (const node of connection.masters()) {
    const info = await connection.run('INFO', () => node.info('stats'))
    hits += Number(/keyspace_hits:(\d+)/.exec(info)?.[1] ?? 0)
    misses += Number(/keyspace_misses:(\d+)/.exec(info)?.[1] ?? 0)
    try {
      const clients = await connection.run('CLIENT LIST', () => node.client('LIST') as Promise<string>)
      if (listeners !== null) listeners += (clients.match(/ name=tiercache-bus-/g) ?? []).length
    } catch {
      listeners = null
    }
  }
  return {
    namespace: cache.name,
    keys,
    busListeners: listeners === null ? null : Math.max(0, listeners - 1), // not this command's own
    redis: {
      keyspaceHits: hits,
      keyspaceMisses: misses,
      hitRatio: hits + misses === 0 ? null : hits / (hits + misses),
    },
  }
}

/** JSON for values msgpack may hold: bigints as strings, Maps as objects, Sets as arrays. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString()
    if (v instanceof Map) return Object.fromEntries(v)
    if (v instanceof Set) return [...v]
    return v
  })
}
