/**
 * `npm run demo` works with no Redis at all (the embedded ioredis-mock, examples/embedded_redis.ts) and against a
 * real one (REDIS_URL), and gives the same answers both ways: the two outputs are compared line by line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exec } from '../support/exec.js'
import { RedisServer } from '../support/redis_server.js'

let server: RedisServer
beforeAll(async () => (server = await RedisServer.start()))
afterAll(async () => server.close())

async function runDemo(redisUrl: string): Promise<string> {
  const ran = await exec(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
    env: { ...process.env, REDIS_URL: redisUrl },
  })
  expect(ran.stderr).toBe('')
  expect(ran.code).toBe(0)
  return ran.stdout
}

/**
 * What may differ between two runs: the first line (where it runs), the measured latencies and ages, and how many
 * entries B holds in L1 at the end (it depends on whether B hears A's writes before or after its own reads, on any
 * Redis).
 */
function answers(output: string): string[] {
  const [before = '', health = ''] = output.split('\n').slice(1).join('\n').split('health of B:')
  const normalized = health
    .replace(/(latencyMs|lastMessageAgeMs|heartbeatMs): (?:[\d.e-]+|null)/g, '$1: <ms>')
    .replace(/(entries|bytes): \d+/g, '$1: <n>')
  return `${before}health of B:${normalized}`.split('\n')
}

describe('demo', () => {
  it('gives the same answers on the embedded in-process Redis as on a real Redis', async () => {
    const [embedded, real] = await Promise.all([runDemo(''), runDemo(server.url)])
    expect(embedded.split('\n')[0]).toContain('an embedded in-process Redis')
    expect(real.split('\n')[0]).toContain(`Redis at ${server.url}`)
    expect(answers(embedded)).toEqual(answers(real))
    expect(embedded).toContain('(database calls: 1; Date and BigInt survive the trip)')
    expect(embedded).toContain('100 concurrent getOrSet on a cold key → 1 database call')
    expect(embedded).toContain('getMany on B: [ 10, 20, 30, undefined ]')
    expect(embedded).toContain('visits counted on both servers: 7')
    expect(await server.cli('dbsize')).toBe('0') // the demo cleans up after itself
  })
})
