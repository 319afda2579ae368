/**
 * Several app servers, each a process of its own, on one real redis-server, for Express, Fastify and
 * node:http: a page rendered by one is a HIT-L2 on another; `invalidateTags` from anywhere drops it on
 * every server; with `lock`, 200 concurrent requests split over two servers render a cold page once.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { makeNode } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'
import { send } from '../fixtures/http/client.js'

const script = fileURLToPath(new URL('../fixtures/http/server_worker.ts', import.meta.url))
const redis = useRedis({ flush: false })
const workers: Worker[] = []
afterAll(() => {
  for (const worker of workers) worker.kill()
})

/** Two servers of `framework`, started in parallel; resolves with their base URLs. */
async function pair(framework: string): Promise<{ a: string; b: string; wa: Worker; wb: Worker }> {
  const [wa, wb] = [new Worker(script, [redis.url, framework]), new Worker(script, [redis.url, framework])]
  workers.push(wa, wb)
  const [ra, rb] = await Promise.all([wa.next('ready'), wb.next('ready')])
  return { a: `http://127.0.0.1:${ra.port as number}`, b: `http://127.0.0.1:${rb.port as number}`, wa, wb }
}

// Behind a load balancer every server sees the same Host.
const headers = { host: 'shop.example' }

describe.each(['node', 'express', 'fastify'])('%s servers in separate processes', (framework) => {
  let servers: Awaited<ReturnType<typeof pair>>
  it('a page rendered on one server is a HIT-L2 on the other, and invalidateTags drops it on both', async () => {
    servers = await pair(framework)
    const { a, b, wb } = servers
    const path = `/page/${framework}`
    expect((await send(a, path, { headers })).cache).toBe('MISS')
    expect((await send(a, path, { headers })).cache).toBe('HIT-L1')
    const onB = await send(b, path, { headers })
    expect([onB.cache, onB.text]).toEqual(['HIT-L2', `${path} rendered by ${servers.wa.child.pid}`])
    expect((await send(b, path, { headers })).cache).toBe('HIT-L1')

    const admin = await makeNode(redis.url, { namespace: 'http' })
    const heard = wb.next(`tags:page:${framework}`)
    await admin.invalidateTags([`page:${framework}`])
    await heard
    const after = await send(b, path, { headers })
    expect([after.cache, after.text]).toEqual(['MISS', `${path} rendered by ${wb.child.pid}`])
    expect(await redis.raw.get(`renders:${path}`)).toBe('2')
  })

  it('with lock, 100 concurrent requests on each of two servers render a cold page once', async () => {
    const { a, b } = servers
    const path = `/locked/${framework}`
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send(i % 2 === 0 ? a : b, path, { headers })),
    )
    expect(await redis.raw.get(`renders:${path}`)).toBe('1')
    expect(new Set(replies.map((r) => `${r.status} ${r.text}`)).size).toBe(1)
  })
})
