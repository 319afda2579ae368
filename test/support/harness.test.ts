import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisServer } from './redis_server.js'

describe('redis test harness', () => {
  let server: RedisServer
  afterAll(async () => server?.close())

  it('starts, kills and restarts a real redis-server on a free port', async () => {
    server = await RedisServer.start()
    expect(await server.cli('ping')).toBe('PONG')
    const client = new Redis(server.url)
    client.on('error', () => undefined) // it sees the kill below: a refused reconnection is expected here
    await client.set('k', 'v')
    await server.kill()
    expect(server.running).toBe(false)
    await server.restart()
    expect(await server.cli('get', 'k')).toBe('') // nothing persisted
    client.disconnect()
  })
})
