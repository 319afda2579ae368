/** `npm run demo` works with no Redis at all and against a real one (REDIS_URL). */
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer } from '../support/redis_server.js'

let server: RedisServer
beforeAll(async () => (server = await RedisServer.start()))
afterAll(async () => server.close())

function runDemo(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts'], {
      env: { ...process.env, REDIS_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, out }))
  })
}

describe('demo', () => {
  it('runs on the embedded in-process Redis', async () => {
    const { code, out } = await runDemo({})
    expect(out).toContain('embedded in-process Redis')
    expect(out).toContain('100 concurrent getOrSet on a cold key → 1 database call')
    expect(out).toContain('visits counted on both servers: 7')
    expect(code).toBe(0)
  })

  it('runs against a real Redis given REDIS_URL', async () => {
    const { code, out } = await runDemo({ REDIS_URL: server.url })
    expect(out).toContain(`Redis at ${server.url}`)
    expect(out).toContain('→ 1 database call')
    expect(code).toBe(0)
    expect(await server.cli('dbsize')).toBe('0') // the demo cleans up after itself
  })
})
