/**
 * The `warm-cache` command as users run it: the built bin (dist/warming/bin.js) in a child process, against
 * a real redis-server, with configs from test/fixtures/warming/. Exit codes, output streams, signals, a
 * TypeScript config, and progress on a pseudo-terminal (under `script`) and without one.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { defineWarmJob, runWarmJob } from '../../src/warming/index.js'
import { deferred } from '../support/deferred.js'

const redis = useRedis()
const BIN = 'dist/warming/bin.js'
const CONFIG = 'test/fixtures/warming/cli.config.mjs'

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

function finish(child: ChildProcess): Promise<Ran> {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const run = (args: string[], env: Record<string, string> = {}): Promise<Ran> => finish(start(args, env))
const warm = (args: string[] = [], env: Record<string, string> = {}): Promise<Ran> =>
  run(['--config', CONFIG, '--redis', redis.url, ...args], env)

const productKeys = async (): Promise<string[]> => redis.raw.keys('tc:cli::product:*')

describe('warm-cache', () => {
  it('--help prints the usage with every flag; --version the package version', async () => {
    const [help, version] = await Promise.all([run(['--help']), run(['--version'])])
    expect(help.code).toBe(0)
    for (const flag of ['--config', '--job', '--concurrency', '--only-missing', '--if-ttl-below', '--limit', '--rate'])
      expect(help.stdout).toContain(flag)
    for (const flag of ['--shard', '--dry-run', '--redis', '--json', '--every', '--help', '--version'])
      expect(help.stdout).toContain(flag)
    const { version: packageVersion } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }
    expect(version).toMatchObject({ code: 0, stdout: `${packageVersion}\n` })
  })

  it('is the `warm-cache` bin of the package, and `tiercache/warming` resolves to the build', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin).toMatchObject({ 'warm-cache': './dist/warming/bin.js' })
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
    const mod = (await import('tiercache/warming')) as Record<string, unknown>
    for (const name of ['defineWarmJob', 'defineWarmConfig', 'runWarmJob', 'readWarmRecords', 'WarmLeaseHeldError'])
      expect(mod[name], name).toBeTypeOf('function')
  })

  it('exits 0 when every key is warmed, with the summary on stdout (Redis from REDIS_URL)', async () => {
    const ran = await run(['--config', CONFIG, '--quiet'], { REDIS_URL: redis.url })
    expect(ran.code).toBe(0)
    expect(ran.stdout).toMatch(/^job\s+shard\s+outcome\s+taken\s+warmed/)
    expect(ran.stdout).toMatch(/products\s+0\/1\s+completed\s+50\s+50\s+0\s+0/)
    expect(ran.stdout).toMatch(/users\s+0\/1\s+completed\s+3\s+3/)
    expect(ran.stderr).toBe('')
    expect(await productKeys()).toHaveLength(50)
  })

  it('exits 1 when a key failed, naming the reason; --json prints one JSON document and nothing else', async () => {
    const ran = await warm(['--json', '--job', 'products'], { WARM_FAIL: 'product:7' })
    expect(ran.code).toBe(1)
    const summary = JSON.parse(ran.stdout) as { ok: boolean; exitCode: number; runs: Array<Record<string, unknown>> }
    expect(summary).toMatchObject({ ok: false, exitCode: 1 })
    expect(summary.runs).toHaveLength(1)
    expect(summary.runs[0]).toMatchObject({
      job: 'products',
      outcome: 'completed',
      warmed: 49,
      failed: 1,
      failures: [{ reason: 'the database refused <key>', count: 1, keys: ['product:7'] }],
    })
    expect(ran.stderr).toContain('products:') // the progress went to stderr
  })

  it('exits 1 with one line when Redis cannot be reached', async () => {
    const ran = await run(['--config', CONFIG, '--redis', 'redis://127.0.0.1:1'])
    expect(ran.code).toBe(1)
    expect(ran.stderr).toMatch(/^warm-cache: cannot reach Redis: .+\n$/)
  })

  it('exits 1 with one line when another run holds the job', async () => {
    const cache = await readyCache({ redis: redis.url, namespace: 'cli', l1: false })
    const started = deferred<void>()
    const gate = deferred<void>()
    const holder = runWarmJob(
      cache,
      defineWarmJob({ name: 'users', keys: ['u'], load: async () => (started.resolve(), await gate.promise, 1) }),
    )
    await started.promise
    const ran = await warm(['--job', 'users', '--quiet'])
    gate.resolve()
    await holder
    expect(ran.code).toBe(1)
    expect(ran.stderr).toMatch(/^warm-cache: Job "users" shard 0\/1 is already running elsewhere: .+\n$/)
    expect(ran.stdout).toMatch(/users\s+0\/1\s+not-run/)
  })

  it('--dry-run prints the keys it would warm and writes nothing', async () => {
    const ran = await warm(['--dry-run', '--job', 'products', '--limit', '5', '--quiet'])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toBe('product:1\nproduct:2\nproduct:3\nproduct:4\nproduct:5\n')
    expect(ran.stderr).toContain('would warm 5')
    expect(await redis.raw.dbsize()).toBe(0)
  })

  it('bad usage: one line naming the bad value, exit 2, no stack trace', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--config', 'missing.config.mjs'], /^warm-cache: missing\.config\.mjs: no such file$/],
      [
        ['--config', CONFIG, '--job', 'orders'],
        /^warm-cache: unknown job "orders" \(the config has: products, users\)$/,
      ],
      [['--config', CONFIG, '--bogus'], /^warm-cache: Unknown option '--bogus'$/],
      [['--config', CONFIG, '--if-ttl-below', '5x'], /^warm-cache: --if-ttl-below expects a duration .*, got "5x"$/],
      [['--config', CONFIG, '--every', 'soon'], /^warm-cache: --every expects a duration .*, got "soon"$/],
      [['--config', CONFIG, '--shard', '3/2'], /^warm-cache: --shard expects i\/n with 0 ≤ i < n .*, got "3\/2"$/],
      [['--config', CONFIG, '--shard', 'first'], /^warm-cache: --shard expects .*, got "first"$/],
      [
        ['--config', CONFIG, '--concurrency', '0'],
        /^warm-cache: --concurrency expects a whole number from 1 and up, got "0"$/,
      ],
      [['--config', CONFIG, '--rate', 'fast'], /^warm-cache: --rate expects loads per second .*, got "fast"$/],
      [
        ['--config', CONFIG, '--redis', 'localhost:6379'],
        /^warm-cache: --redis expects a redis:\/\/ .*, got "localhost:6379"$/,
      ],
      [['--config', CONFIG], /^warm-cache: no Redis to warm: pass --redis <url>, set REDIS_URL/],
      [
        ['--config', 'test/fixtures/warming/bad_export.config.mjs'],
        /^warm-cache: .*bad_export\.config\.mjs: expected a default export of a job.*`42` \(number\)$/,
      ],
      [
        ['--config', 'test/fixtures/warming/throws.config.mjs'],
        /^warm-cache: .*throws\.config\.mjs: cannot load it: DATABASE_URL is not set$/,
      ],
      [['--config'], /^warm-cache: Option '-c, --config <value>' argument missing$/],
      [[], /^warm-cache: no config: pass --config <file>/],
    ]
    const results = await Promise.all(cases.map(([args]) => run(args)))
    results.forEach((ran, i) => {
      const [args, line] = cases[i] as [string[], RegExp]
      expect(ran.code, args.join(' ')).toBe(2)
      expect(ran.stdout, args.join(' ')).toBe('')
      expect(ran.stderr.endsWith('\n') && ran.stderr.split('\n').length === 2, ran.stderr).toBe(true)
      expect(ran.stderr.trimEnd(), args.join(' ')).toMatch(line)
    })
  })

  it('SIGTERM mid-run: finishes the loads in flight, prints the summary, releases the lease, exits 1', async () => {
    const child = start(
      [
        '--config',
        CONFIG,
        '--redis',
        redis.url,
        '--job',
        'products',
        '--json',
        '--concurrency',
        '4',
        '--progress-interval',
        '50ms',
      ],
      { WARM_KEYS: '100000', WARM_DELAY: '20' },
    )
    const done = finish(child)
    // Wait for a progress line showing keys warmed, then stop it.
    await new Promise<void>((resolve) => {
      const lines = createInterface({ input: child.stderr! })
      lines.on('line', (line) => {
        if (/warmed [1-9]/.test(line)) {
          lines.close()
          resolve()
        }
      })
    })
    child.kill('SIGTERM')
    const ran = await done
    expect(ran.code).toBe(1)
    const summary = JSON.parse(ran.stdout) as { runs: Array<{ outcome: string; warmed: number; failed: number }> }
    expect(summary.runs[0]).toMatchObject({ outcome: 'cancelled', failed: 0 })
    expect(ran.stderr).toContain('SIGTERM: finishing the loads in flight')
    expect(await productKeys()).toHaveLength(summary.runs[0]?.warmed ?? -1)
    expect(summary.runs[0]?.warmed).toBeLessThan(100_000)
    expect(await redis.raw.exists('tc:cli:!warm:products:lease:0/1')).toBe(0)
  })

  it('--every runs again until SIGTERM, one JSON summary per run, and exits 0', async () => {
    const child = start([
      '--config',
      CONFIG,
      '--redis',
      redis.url,
      '--job',
      'users',
      '--json',
      '--quiet',
      '--every',
      '100ms',
    ])
    const done = finish(child)
    let runs = 0
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', () => ++runs === 2 && resolve())
    })
    child.kill('SIGTERM')
    const ran = await done
    expect(ran.code).toBe(0)
    const lines = ran.stdout.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ ok: true })
  })

  it('loads a TypeScript config', async () => {
    const ran = await run(['--config', 'test/fixtures/warming/typed.config.ts', '--redis', redis.url, '--json', '-q'])
    // Node versions that strip types themselves may print an ExperimentalWarning; nothing of ours.
    expect(ran.stderr).not.toContain('warm-cache:')
    expect(ran.code).toBe(0)
    expect(JSON.parse(ran.stdout)).toMatchObject({ ok: true, runs: [{ job: 'typed', warmed: 5 }] })
    expect(await redis.raw.exists('tc:cli::typed:5')).toBe(1)
  })

  it('--status prints what Redis knows about the runs', async () => {
    await warm(['--quiet', '--job', 'users'])
    const ran = await warm(['--status', '--json'])
    expect(ran.code).toBe(0)
    expect(JSON.parse(ran.stdout)).toMatchObject({
      jobs: [{ job: 'users', shard: '0/1', last: { outcome: 'completed', warmed: 3 } }],
    })
  })

  it('progress: a line redrawn in place on a terminal, plain lines otherwise', async () => {
    const args = ['--config', CONFIG, '--redis', redis.url, '--job', 'products']
    const env = { WARM_KEYS: '300', WARM_DELAY: '1' }
    const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
    // One after the other: two runs of the job at once would meet its lease.
    const tty = await finish(
      spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', ...env } }),
    )
    const plain = await run([...args, '--progress-interval', '50ms'], env)
    expect(tty.code).toBe(0)
    expect(tty.stdout).toContain('\r\u001b[2Kproducts: ')
    expect(tty.stdout).toMatch(/products: 300\/? ?.*done/)
    expect(plain.code).toBe(0)
    expect(plain.stderr).not.toContain('\r')
    const lines = plain.stderr.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(2)
    for (const line of lines) expect(line).toMatch(/^products: /)
    expect(lines.at(-1)).toMatch(/products: 300 .*warmed 300 .*done$/)
  })
})
