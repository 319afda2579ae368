/**
 * `warm-cache` (bin.ts runs it): runs the jobs of a warm config against Redis. See `warm-cache --help` and README, "Warming".
 * Exit codes: 0 every key warmed or skipped, 1 a key failed or a run did not complete, 2 bad usage (one line
 * naming the bad value, no stack trace). SIGINT/SIGTERM stop taking keys, let loads in flight finish, print
 * the summary and release the lease; a second signal exits at once.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { createCache, type Cache, type CacheOptions } from '../index.js'
import { redisOf } from '../seam.js'
import { packageVersion } from '../internal/cli.js'
import { parseCliArgs, UsageError, USAGE, type CliOptions } from './cli_args.js'
import { ProgressPrinter, summaryTable, type JobResult } from './cli_output.js'
import { loadWarmConfig, type WarmConfig } from './config.js'
import { WarmConfigError, WarmLeaseHeldError } from './errors.js'
import type { WarmJob } from './job.js'
import type { RunWarmJobOptions } from './options.js'
import { readWarmRecords } from './record.js'
import { sleep } from './retry.js'
import { runWarmJob } from './runner.js'
import { shardLabel } from './shard.js'

const DEFAULT_CONFIGS = ['warm.config.ts', 'warm.config.mts', 'warm.config.mjs', 'warm.config.js']
/** Progress redraws per second on a terminal. */
const TTY_INTERVAL = 100
const PLAIN_INTERVAL = 5000

export interface Io {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  env: NodeJS.ProcessEnv
  cwd: string
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let cli: CliOptions
  let config: WarmConfig
  let jobs: Array<WarmJob<unknown, unknown>>
  let cache: Cache
  try {
    cli = parseCliArgs(argv)
    if (cli.help) return (void io.stdout.write(`${USAGE}\n`), 0)
    if (cli.version) return (void io.stdout.write(`${packageVersion()}\n`), 0)
    config = await loadWarmConfig(configFile(cli, io.cwd))
    jobs = selectJobs(config, cli.jobs)
    cache = await makeCache(config, cli, io.env)
  } catch (error) {
    if (error instanceof UsageError || error instanceof WarmConfigError || error instanceof TypeError) {
      io.stderr.write(`warm-cache: ${error.message}\n`)
      return 2
    }
    throw error
  }
  try {
    const connection = redisOf(cache)
    if (connection === undefined && !cli.dryRun) {
      io.stderr.write('warm-cache: the cache has no Redis to warm: pass --redis <url> or set REDIS_URL\n')
      return 2
    }
    try {
      await connection?.ping()
    } catch (error) {
      io.stderr.write(`warm-cache: cannot reach Redis: ${(error as Error).message}\n`)
      return 1
    }
    if (cli.status) return await printStatus(cache, jobs, cli, io)
    return await runCycles(cache, jobs, cli, io)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    io.stderr.write(`warm-cache: ${error.message}\n`)
    return 2
  } finally {
    await cache.close()
    await config.close?.()
  }
}

/** Runs every selected job, prints the summary; again every `--every` until a signal. */
async function runCycles(
  cache: Cache,
  jobs: Array<WarmJob<unknown, unknown>>,
  cli: CliOptions,
  io: Io,
): Promise<number> {
  const stop = new AbortController()
  const printer = new ProgressPrinter(io.stderr)
  let signals = 0
  const onSignal = (name: string): void => {
    if (++signals > 1) process.exit(130)
    printer.note(`warm-cache: ${name}: finishing the loads in flight (again to exit at once)`)
    stop.abort()
  }
  const onSigint = (): void => onSignal('SIGINT')
  const onSigterm = (): void => onSignal('SIGTERM')
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigterm)
  let code = 0
  try {
    for (;;) {
      const results: JobResult[] = []
      for (const job of jobs) {
        if (stop.signal.aborted) break
        results.push(await runOne(cache, job, cli, io, printer, stop.signal))
      }
      code = results.every((r) => r.outcome === 'completed' && r.failed === 0) && !stop.signal.aborted ? 0 : 1
      if (results.length > 0) printSummary(results, code, cli, io)
      if (cli.every === undefined || stop.signal.aborted) break
      if (!(await sleep(cli.every, stop.signal))) break // stopped between runs: the last run's code stands
    }
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigterm)
  }
  return code
}

async function runOne(
  cache: Cache,
  job: WarmJob<unknown, unknown>,
  cli: CliOptions,
  io: Io,
  printer: ProgressPrinter,
  signal: AbortSignal,
): Promise<JobResult> {
  const shard = cli.shard === undefined ? '0/1' : shardLabel(cli.shard)
  const options: RunWarmJobOptions = {
    signal,
    onlyMissing: cli.onlyMissing,
    dryRun: cli.dryRun,
    lease: { wait: cli.wait, ...(cli.leaseTtl !== undefined && { ttl: cli.leaseTtl }) },
    ...(cli.concurrency !== undefined && { concurrency: cli.concurrency }),
    ...(cli.ifTtlBelow !== undefined && { ifTtlBelow: cli.ifTtlBelow }),
    ...(cli.limit !== undefined && { limit: cli.limit }),
    ...(cli.rate !== undefined && { rate: cli.rate }),
    ...(cli.shard !== undefined && { shard: cli.shard }),
    ...(!cli.quiet && {
      onProgress: (progress) => printer.update(progress),
      progressInterval: printer.tty ? TTY_INTERVAL : (cli.progressInterval ?? PLAIN_INTERVAL),
    }),
    ...(cli.dryRun && !cli.json && { onItem: (event) => void io.stdout.write(`${event.key}\n`) }),
  }
  try {
    return await runWarmJob(cache, job, options)
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message)
    const reason = error instanceof WarmLeaseHeldError ? error.message : `did not run: ${(error as Error).message}`
    printer.note(`warm-cache: ${reason}`)
    return { job: job.name, shard, outcome: 'not-run', error: reason }
  }
}

function printSummary(results: JobResult[], code: number, cli: CliOptions, io: Io): void {
  if (cli.json) return void io.stdout.write(`${JSON.stringify({ ok: code === 0, exitCode: code, runs: results })}\n`)
  // A dry run prints its keys on stdout: the table goes to stderr so the key list can be piped.
  const out = cli.dryRun ? io.stderr : io.stdout
  out.write(`${summaryTable(results)}\n`)
}

async function printStatus(
  cache: Cache,
  jobs: Array<WarmJob<unknown, unknown>>,
  cli: CliOptions,
  io: Io,
): Promise<number> {
  const statuses = (await Promise.all(jobs.map((job) => readWarmRecords(cache, job.name)))).flat()
  if (cli.json) {
    io.stdout.write(`${JSON.stringify({ jobs: statuses })}\n`)
    return 0
  }
  if (statuses.length === 0) io.stdout.write('no runs recorded yet\n')
  for (const s of statuses) {
    const last = s.last
    const parts = [`${s.job} [${s.shard}]`]
    if (last !== undefined)
      parts.push(
        `last run ${new Date(last.finishedAt).toISOString()} ${last.outcome}: warmed ${last.warmed}, skipped ${last.skipped}, failed ${last.failed}`,
        `last success ${last.lastSuccessAt === null ? 'never' : new Date(last.lastSuccessAt).toISOString()}`,
      )
    if (s.running !== undefined)
      parts.push(
        `${s.running.stale ? 'stale run (its process is gone)' : 'running'} on ${s.running.host} pid ${s.running.pid}`,
      )
    const [name, ...facts] = parts
    io.stdout.write(`${name}: ${facts.length === 0 ? 'no finished run' : facts.join('; ')}\n`)
  }
  return 0
}

function configFile(cli: CliOptions, cwd: string): string {
  if (cli.config !== undefined) return cli.config
  const found = DEFAULT_CONFIGS.find((name) => existsSync(join(cwd, name)))
  if (found === undefined)
    throw new UsageError(`no config: pass --config <file> (no ${DEFAULT_CONFIGS.join(', ')} in ${cwd})`)
  return join(cwd, found)
}

function selectJobs(config: WarmConfig, names: readonly string[]): Array<WarmJob<unknown, unknown>> {
  if (names.length === 0) return [...config.jobs]
  const known = new Map(config.jobs.map((job) => [job.name, job]))
  return [...new Set(names)].map((name) => {
    const job = known.get(name)
    if (job === undefined)
      throw new UsageError(`unknown job "${name}" (the config has: ${[...known.keys()].join(', ')})`)
    return job
  })
}

async function makeCache(config: WarmConfig, cli: CliOptions, env: NodeJS.ProcessEnv): Promise<Cache> {
  const fromEnv = env.REDIS_URL === '' ? undefined : env.REDIS_URL
  if (cli.redis === undefined && fromEnv !== undefined && !/^rediss?:\/\/\S+$/.test(fromEnv))
    throw new UsageError(`REDIS_URL is not a redis:// or rediss:// URL: "${fromEnv}"`)
  const redis = cli.redis ?? fromEnv ?? config.redis
  const source = config.cache
  if (typeof source === 'function') {
    let made: unknown
    try {
      made = await source({ redis })
    } catch (error) {
      throw new UsageError(`the config's cache() failed: ${(error as Error).message}`)
    }
    redisOf(made as Cache) // throws TypeError when it is not a cache
    return made as Cache
  }
  if (isCache(source)) return source
  const options: CacheOptions = { ...source, ...(redis !== undefined && { redis }) }
  if (options.redis === undefined) {
    // A dry run can go through the keys without Redis (nothing to check against); a real run has nowhere to write.
    if (cli.dryRun) return createCache(options)
    throw new UsageError('no Redis to warm: pass --redis <url>, set REDIS_URL, or give `redis` in the config')
  }
  return createCache({ l1: false, ...options })
}

function isCache(value: unknown): value is Cache {
  try {
    redisOf(value as Cache)
    return true
  } catch {
    return false
  }
}
