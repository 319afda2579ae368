/**
 * The `tiercache` command as operators run it: the built bin (dist/cli/bin.js) in a child process against a real
 * redis-server. delete, invalidate-tags and clear make a live server's L1 drop its entries (awaited through that
 * server's bus events); health, stats and get report; bad usage exits 2 with one line; an unreachable Redis exits 1.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { freePort, useRedis } from '../support/redis_server.js'
import { internals, makeNode, nextEvent } from '../support/make_cache.js'

const redis = useRedis()
const BIN = 'dist/cli/bin.js'

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

const tc = (args: string[]): Promise<Ran> => run([...args, '--redis', redis.url, '-n', 'shop'])

describe('tiercache (the operator command)', () => {
  it('is a bin of the package next to warm-cache', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> }
    expect(pkg.bin).toEqual({ 'warm-cache': './dist/warming/bin.js', tiercache: './dist/cli/bin.js' })
    expect(readFileSync(BIN, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it('delete, invalidate-tags and clear drop the entries from a live server’s L1 through the bus', async () => {
    const server = await makeNode(redis.url, { namespace: 'shop' })
    const l1 = internals(server).l1!
    await server.set('a', 1)
    await server.set('b', 2)
    await server.set('t1', 'tagged', { tags: ['promo'] })
    await server.set('t2', 'other', { tags: ['other'] })
    expect(l1.entries).toBe(4)

    let heard = nextEvent(server, 'bus:message', (m) => m.kind === 'keys' && m.items.includes('a'))
    const deleted = await tc(['delete', 'a', 'missing', '--json'])
    expect(deleted).toMatchObject({ code: 0, stderr: '' })
    expect(JSON.parse(deleted.stdout)).toEqual({ deleted: 1, keys: ['a', 'missing'] })
    await heard
    expect(l1.get('a')).toBeUndefined()
    expect(await redis.raw.exists('tc:shop::a')).toBe(0)

    heard = nextEvent(server, 'bus:message', (m) => m.kind === 'tags')
    expect(await tc(['invalidate-tags', 'promo'])).toMatchObject({ code: 0, stdout: 'invalidated "promo" in "shop"\n' })
    await heard
    expect(l1.get('t1')).toBeUndefined()
    expect(await server.get('t1')).toBeUndefined()
    expect(await server.get('t2')).toBe('other')

    heard = nextEvent(server, 'bus:message', (m) => m.kind === 'clear')
    expect(await tc(['clear', '--yes'])).toMatchObject({ code: 0, stdout: 'cleared namespace "shop"\n' })
    await heard
    expect(l1.entries).toBe(0)
    expect(await redis.raw.keys('tc:shop::b')).toEqual([])
  })

  it('health, stats and get report on the namespace', async () => {
    const server = await makeNode(redis.url, { namespace: 'shop' })
    await server.set('user:1', { name: 'Ada', since: 2015n })
    const health = await tc(['health', '--json'])
    expect(health.code).toBe(0)
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'ok', l2: { ok: true }, bus: { up: true } })
    const stats = await tc(['stats', '--json'])
    expect(stats.code).toBe(0)
    expect(JSON.parse(stats.stdout)).toMatchObject({ namespace: 'shop', keys: 1, busListeners: 1 })
    const got = await tc(['get', 'user:1', '--json'])
    expect(JSON.parse(got.stdout)).toEqual({ key: 'user:1', found: true, value: { name: 'Ada', since: '2015' } })
    expect((await tc(['get', 'nope'])).stdout).toBe('(not found)\n')
  })

  it('bad usage exits 2 with one line; an unreachable Redis exits 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /^tiercache: expects a command: /],
      [['frobnicate'], /^tiercache: unknown command "frobnicate"/],
      [['get'], /^tiercache: get expects <key>$/],
      [['health', 'extra'], /^tiercache: health takes no arguments, got "extra"$/],
      [['clear', '--yes', '--redis', 'redis://127.0.0.1:1'], /^tiercache: clear expects --namespace <ns>/],
      [
        ['clear', '-n', 'shop', '--redis', 'redis://127.0.0.1:1'],
        /^tiercache: clear deletes every key of .*: add --yes$/,
      ],
      [['stats', '--bogus'], /^tiercache: Unknown option '--bogus'$/],
      [['stats'], /^tiercache: no Redis: pass --redis <url> or set REDIS_URL$/],
      [['stats', '--redis', 'localhost:6379'], /^tiercache: --redis expects a redis:\/\/ .*, got "localhost:6379"$/],
      [['stats', '--redis', redis.url, '--codec', 'xml'], /^tiercache: --codec expects msgpack or json, got "xml"$/],
      [['stats', '--redis', redis.url, '--timeout', 'soon'], /^tiercache: --timeout expects a duration .*"soon"$/],
      [['stats', '--redis', redis.url, '-n', 'bad ns'], /^tiercache: Expected `namespace` .*$/],
    ]
    const results = await Promise.all(cases.map(([args]) => run(args)))
    results.forEach((ran, i) => {
      const [args, message] = cases[i]!
      expect(ran.code, args.join(' ')).toBe(2)
      expect(ran.stdout).toBe('')
      expect(ran.stderr.split('\n')).toHaveLength(2) // one line
      expect(ran.stderr.trimEnd()).toMatch(message)
    })
    const unreachable = `redis://127.0.0.1:${await freePort()}`
    const [down, health] = await Promise.all([
      run(['delete', 'k', '--redis', unreachable, '--timeout', '300ms']),
      run(['health', '--redis', unreachable, '--timeout', '300ms']),
    ])
    expect(down.code).toBe(1)
    expect(down.stderr).toMatch(/^tiercache: cannot reach Redis: .+\n$/)
    expect(health.code).toBe(1)
    expect(health.stdout).toMatch(/^status: down\n/)
  })
})
