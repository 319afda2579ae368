import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { L2TimeoutError } from '../../src/errors.js'
import { RedisServer } from '../support/redis_server.js'
import { makeNode, nextEvent, synced } from '../support/make_cache.js'

describe('a write that timed out but landed later is still announced', () => {
  let server: RedisServer
  let nodes: Cache[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
  })
  afterEach(async () => {
    server.thaw()
    await Promise.all(nodes.map((n) => n.close()))
    nodes = []
    await server.cli('flushall')
  })
  afterAll(async () => server?.close())

  it("frozen Redis: A's set times out, Redis applies it after the thaw, and B drops its old L1 value", async () => {
    const a = await makeNode(server.url, { l2: { timeout: 100 } })
    const b = await makeNode(server.url)
    nodes.push(a, b)
    await a.set('k', 'old')
    await synced(a, b)
    expect(await b.get('k')).toBe('old')

    server.freeze() // connections stay open; nothing is answered
    await expect(a.set('k', 'new')).rejects.toBeInstanceOf(L2TimeoutError)
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'), 10_000)
    server.thaw() // the SET that timed out is applied now, then the queued PUBLISH
    await heard
    expect(await b.get('k')).toBe('new')
    expect(await a.get('k')).toBe('new')
  })
})
