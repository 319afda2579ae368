/**
 * The flags of `warm-cache`, parsed with node:util `parseArgs` (strict: an unknown flag is an error) and
 * validated into the options of `runWarmJob`. Every problem is a `UsageError` with one line naming the
 * flag and the value, which the command prints before exiting with code 2.
 */
import { parseArgs } from 'node:util'
import { count, duration, plain, redisUrl, UsageError } from '../internal/cli.js'
import { parseShard, type Shard } from './shard.js'

export const USAGE = `Usage: warm-cache [options]

Fills the cache before traffic arrives: runs the warming jobs of a config file.

Options:
  -c, --config <file>       the config (.js, .mjs or .ts); default: warm.config.ts, .mjs or .js here
  -j, --job <name>          run only this job (repeatable); default: every job of the config
      --concurrency <n>     loads in flight at once, per job (overrides the job's)
      --only-missing        skip keys already in Redis
      --if-ttl-below <dur>  re-warm only keys missing or with less than <dur> to live (e.g. 10m)
      --limit <n>           take at most <n> keys per job
      --rate <n>[/s]        at most <n> loads per second, per job
      --shard <i/n>         warm only shard i of n, 0 ≤ i < n (e.g. $(JOB_COMPLETION_INDEX)/8)
      --wait <dur>          wait up to <dur> for a run of the same job elsewhere to end (default: exit)
      --lease-ttl <dur>     how long a crashed run blocks the next one (default: 30s)
      --dry-run             print the keys that would be warmed; load and write nothing
      --redis <url>         Redis URL (default: $REDIS_URL, then the config's \`redis\`)
      --json                print one JSON summary on stdout (progress stays on stderr)
      --every <dur>         run again every <dur> until SIGINT or SIGTERM
      --progress-interval <dur>
                            how often progress is printed when stderr is not a terminal (default: 5s)
  -q, --quiet               no progress output
      --status              print what Redis knows about the jobs' runs, then exit
  -h, --help                print this help
  -v, --version             print the version

Durations: 500ms, 30s, 10m, 1h, 7d or milliseconds.
Exit codes: 0 every key warmed or skipped; 1 a key failed or a run did not complete; 2 bad usage.
On SIGINT or SIGTERM no new key is taken, loads in flight finish, the summary is printed and the lease released.`

export { UsageError }

export interface CliOptions {
  help: boolean
  version: boolean
  config: string | undefined
  jobs: string[]
  concurrency: number | undefined
  onlyMissing: boolean
  ifTtlBelow: number | undefined
  limit: number | undefined
  rate: number | undefined
  shard: Shard | undefined
  wait: number
  leaseTtl: number | undefined
  dryRun: boolean
  redis: string | undefined
  json: boolean
  every: number | undefined
  progressInterval: number | undefined
  quiet: boolean
  status: boolean
}

/** @throws UsageError for an unknown flag, a missing value or a bad one. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  let values: ReturnType<typeof parse>['values']
  try {
    ;({ values } = parse(argv))
  } catch (error) {
    throw new UsageError(plain((error as Error).message))
  }
  return {
    help: values.help === true,
    version: values.version === true,
    config: values.config,
    jobs: values.job ?? [],
    concurrency: count(values.concurrency, '--concurrency'),
    onlyMissing: values['only-missing'] === true,
    ifTtlBelow: duration(values['if-ttl-below'], '--if-ttl-below'),
    limit: count(values.limit, '--limit'),
    rate: rate(values.rate),
    shard: shard(values.shard),
    wait: duration(values.wait, '--wait') ?? 0,
    leaseTtl: duration(values['lease-ttl'], '--lease-ttl'),
    dryRun: values['dry-run'] === true,
    redis: redisUrl(values.redis),
    json: values.json === true,
    every: duration(values.every, '--every'),
    progressInterval: duration(values['progress-interval'], '--progress-interval'),
    quiet: values.quiet === true,
    status: values.status === true,
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      job: { type: 'string', short: 'j', multiple: true },
      concurrency: { type: 'string' },
      'only-missing': { type: 'boolean' },
      'if-ttl-below': { type: 'string' },
      limit: { type: 'string' },
      rate: { type: 'string' },
      shard: { type: 'string' },
      wait: { type: 'string' },
      'lease-ttl': { type: 'string' },
      'dry-run': { type: 'boolean' },
      redis: { type: 'string' },
      json: { type: 'boolean' },
      every: { type: 'string' },
      'progress-interval': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      status: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}

function rate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*s)?\s*$/.exec(value)
  const n = Number(match?.[1])
  if (match === null || !(n > 0))
    throw new UsageError(`--rate expects loads per second such as 500 or 500/s, got "${value}"`)
  return n
}

function shard(value: string | undefined): Shard | undefined {
  if (value === undefined) return undefined
  try {
    return parseShard(value)
  } catch {
    throw new UsageError(`--shard expects i/n with 0 ≤ i < n (such as 0/4), got "${value}"`)
  }
}
