/** The pieces of `warm-cache` that need no process: flags, config loading, what it prints. */
import { describe, expect, it } from 'vitest'
import { defineWarmJob } from '../../src/warming/index.js'
import { parseCliArgs, UsageError } from '../../src/warming/cli_args.js'
import { describeProgress, summaryTable } from '../../src/warming/cli_output.js'
import { loadWarmConfig, normalizeConfig, type ConfigImporters } from '../../src/warming/config.js'
import { WarmConfigError } from '../../src/warming/errors.js'
import type { WarmProgress, WarmReport } from '../../src/warming/tally.js'

describe('flags', () => {
  it('parses every flag into run options', () => {
    const cli = parseCliArgs([
      ...['-c', 'w.mjs', '-j', 'a', '--job', 'b', '--concurrency', '16', '--only-missing', '--if-ttl-below', '10m'],
      ...['--limit', '1000', '--rate', '250/s', '--shard', '2/8', '--wait', '1m', '--lease-ttl', '45s', '--dry-run'],
      ...[
        '--redis',
        'rediss://cache:6380/1',
        '--json',
        '--every',
        '1h',
        '--progress-interval',
        '500',
        '-q',
        '--status',
      ],
    ])
    expect(cli).toEqual({
      help: false,
      version: false,
      config: 'w.mjs',
      jobs: ['a', 'b'],
      concurrency: 16,
      onlyMissing: true,
      ifTtlBelow: 600_000,
      limit: 1000,
      rate: 250,
      shard: { index: 2, count: 8 },
      wait: 60_000,
      leaseTtl: 45_000,
      dryRun: true,
      redis: 'rediss://cache:6380/1',
      json: true,
      every: 3_600_000,
      progressInterval: 500,
      quiet: true,
      status: true,
    })
  })

  it.each([
    [['--limit', '1.5'], '--limit expects a whole number from 1 and up, got "1.5"'],
    [['--wait', 'later'], '--wait expects a duration such as 500ms, 30s, 10m or 1h, got "later"'],
    [['--rate', '0'], '--rate expects loads per second such as 500 or 500/s, got "0"'],
    [['--shard', '1/1'], '--shard expects i/n with 0 ≤ i < n (such as 0/4), got "1/1"'],
    [['extra'], "Unexpected argument 'extra'"],
    [['--json=yes'], "Option '--json' does not take an argument"],
  ])('%o → %s', (argv, message) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError)
    expect(() => parseCliArgs(argv)).toThrow(message)
  })
})

describe('configs', () => {
  const job = defineWarmJob({ name: 'a', keys: ['x'], load: () => 1 })

  it('accepts a job, an array of jobs, or { jobs }', () => {
    expect(normalizeConfig(job, 'f').jobs).toEqual([job])
    expect(normalizeConfig([job], 'f').jobs).toEqual([job])
    expect(normalizeConfig({ jobs: [job], redis: 'redis://r' }, 'f')).toMatchObject({ jobs: [job], redis: 'redis://r' })
    expect(normalizeConfig({ name: 'b', keys: [], load: () => 1 }, 'f').jobs[0]?.name).toBe('b')
  })

  it.each([
    [
      undefined,
      /f: expected a default export of a job, an array of jobs or defineWarmConfig\(\{ jobs \}\), got `undefined`/,
    ],
    [{ jobs: [] }, /f: expected `jobs` to be a non-empty array/],
    [{ jobs: [{ name: 'a', keys: [] }] }, /f: Expected job "a" to have `load` or `loadMany`/],
    [
      [
        { name: 'a', keys: [], load: () => 1 },
        { name: 'a', keys: [], load: () => 1 },
      ],
      /f: two jobs are named "a"/,
    ],
    [{ jobs: [{ name: 'a', keys: [], load: () => 1 }], cache: 'redis://x' }, /f: expected `cache` to be a cache/],
  ])('refuses %o with a WarmConfigError', (exported, message) => {
    expect(() => normalizeConfig(exported, 'f')).toThrow(WarmConfigError)
    expect(() => normalizeConfig(exported, 'f')).toThrow(message)
  })

  it('says how to load a TypeScript config when neither Node nor jiti can', async () => {
    const unknownExtension = Object.assign(new TypeError('Unknown file extension ".ts"'), {
      code: 'ERR_UNKNOWN_FILE_EXTENSION',
    })
    const importers: ConfigImporters = {
      native: () => Promise.reject(unknownExtension),
      jiti: () => Promise.resolve(undefined),
      stripsTypes: false,
    }
    const error = await loadWarmConfig('test/fixtures/warming/typed.config.ts', importers).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WarmConfigError)
    expect((error as Error).message).toBe(
      `test/fixtures/warming/typed.config.ts: loading a TypeScript config on Node ${process.versions.node} needs jiti: ` +
        'npm install --save-dev jiti (or use a .js/.mjs config, or Node 22.18 or later)',
    )
  })

  it('imports TypeScript natively where Node strips types', async () => {
    const seen: string[] = []
    const importers: ConfigImporters = {
      native: (url) => (seen.push(url), Promise.resolve({ default: [job] })),
      jiti: () => Promise.reject(new Error('jiti must not be loaded')),
      stripsTypes: true,
    }
    const config = await loadWarmConfig('test/fixtures/warming/typed.config.ts', importers)
    expect(config.jobs).toEqual([job])
    expect(seen[0]).toMatch(/^file:\/\/.*typed\.config\.ts$/)
  })
})

describe('output', () => {
  const progress: WarmProgress = {
    job: 'products',
    shard: '2/8',
    phase: 'running',
    taken: 4200,
    warmed: 4100,
    skipped: 50,
    failed: 50,
    planned: 0,
    inFlight: 8,
    total: 10_000,
    elapsedMs: 2100,
    itemsPerSecond: 2000,
  }

  it('describes progress on one line, with a percentage and ETA when the total is known', () => {
    expect(describeProgress(progress)).toBe(
      'products [2/8]: 4,200/10,000 42%  warmed 4,100  skipped 50  failed 50  2,000/s  2.1s  ETA 2.9s',
    )
    expect(describeProgress({ ...progress, shard: '0/1', total: undefined, phase: 'stopping' })).toBe(
      'products: 4,200  warmed 4,100  skipped 50  failed 50  2,000/s  2.1s  stopping: 8 in flight',
    )
    expect(describeProgress({ ...progress, phase: 'waiting' })).toBe(
      'products [2/8]: waiting for another run of this job to end',
    )
  })

  it('prints a summary table and the main failure reasons', () => {
    const report: WarmReport = {
      job: 'products',
      shard: '0/1',
      outcome: 'completed',
      error: undefined,
      dryRun: false,
      taken: 100_000,
      warmed: 99_990,
      skipped: 0,
      failed: 10,
      planned: 0,
      skippedBy: { present: 0, fresh: 0, empty: 0 },
      failures: [{ reason: 'row <key> is locked', code: undefined, count: 10, keys: ['product:1', 'product:2'] }],
      startedAt: 0,
      durationMs: 12_300,
      waitedMs: 0,
      itemsPerSecond: 8130,
    }
    expect(summaryTable([report, { job: 'users', shard: '0/1', outcome: 'not-run', error: 'already running' }])).toBe(
      [
        'job       shard  outcome      taken  warmed  skipped  failed  duration  items/s',
        'products  0/1    completed  100,000  99,990        0      10     12.3s    8,130',
        'users     0/1    not-run',
        'products: 10 failed: row <key> is locked (e.g. product:1, product:2)',
        'users [0/1]: already running',
      ].join('\n'),
    )
  })
})
