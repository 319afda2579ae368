/**
 * tiercache/health over real HTTP with a real redis-server, on node:http, Express and Fastify at once (one cache):
 * ok, then Redis stopped (degraded by default, 503 with requireL2), then Redis back (ok again, same apps); a frozen
 * Redis still answered within the timeout, with one check for a burst of probes; draining; liveness; misuse; and
 * drainOnSignal in a child process ending by its signal.
 */
import express from 'express'
import Fastify from 'fastify'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  beginShutdown,
  cancelShutdown,
  checkHealth,
  drainOnSignal,
  fastifyHealth,
  fastifyHealthPlugin,
  fastifyLiveness,
  healthHandler,
  isShuttingDown,
  livenessHandler,
} from '../../src/health/index.js'
import type { Cache, Duration } from '../../src/index.js'
import { listen, send } from '../fixtures/http/client.js'
import { closeServers, track } from '../fixtures/http/servers.js'
import { busUp, makeCache, makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'

const redis = useRedis()
afterEach(async () => {
  cancelShutdown()
  await closeServers()
})

/** The same probes on node:http, Express and Fastify; resolves with their base URLs. */
async function apps(cache: Cache | Cache[], timeout: Duration = '1s'): Promise<Record<string, string>> {
  const ready = healthHandler(cache, { timeout })
  const strict = healthHandler(cache, { timeout, requireL2: true })
  const live = livenessHandler()
  const node = createServer((req, res) => {
    if (req.url === '/ready') ready(req, res)
    else if (req.url === '/strict') strict(req, res)
    else live(req, res)
  })
  const app = express()
  app.get('/ready', healthHandler(cache, { timeout }))
  app.get('/strict', healthHandler(cache, { timeout, requireL2: true }))
  app.get('/live', livenessHandler())
  const expressServer = app.listen(0, '127.0.0.1')
  track(expressServer)
  const fastify = Fastify()
  fastify.get('/ready', fastifyHealth(cache, { timeout }))
  fastify.get('/strict', fastifyHealth(cache, { timeout, requireL2: true }))
  await fastify.register(fastifyHealthPlugin, { caches: cache, path: '/plugin/ready', livenessPath: '/live' })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  track(fastify.server)
  await new Promise((resolve) => (expressServer.listening ? resolve(null) : expressServer.once('listening', resolve)))
  const port = (s: { address(): unknown }): number => (s.address() as { port: number }).port
  return {
    node: await listen(node),
    express: `http://127.0.0.1:${port(expressServer)}`,
    fastify: `http://127.0.0.1:${port(fastify.server)}`,
  }
}

async function probe(bases: Record<string, string>, path: string): Promise<Record<string, [number, string]>> {
  const out: Record<string, [number, string]> = {}
  for (const [name, base] of Object.entries(bases)) {
    const reply = await send(base, path)
    out[name] = [reply.status, (JSON.parse(reply.text) as { status: string }).status]
  }
  return out
}

const all = (status: number, state: string) => ({
  node: [status, state],
  express: [status, state],
  fastify: [status, state],
})

describe('tiercache/health', () => {
  it('ok, then Redis stopped: 200 degraded (503 with requireL2), then Redis back: ok again in the same apps', async () => {
    const cache = await makeNode(redis.url)
    const bases = await apps(cache)
    expect(await probe(bases, '/ready')).toEqual(all(200, 'ok'))
    expect(await probe(bases, '/strict')).toEqual(all(200, 'ok'))
    const body = JSON.parse((await send(bases.node as string, '/ready')).text) as Record<string, unknown>
    expect(body).toMatchObject({ status: 'ok', ok: true, l2: { ok: true, circuit: 'closed' }, bus: { up: true } })

    const down = nextEvent(cache, 'bus:state', (p) => p.state === 'down')
    await redis.server.stop()
    await down
    expect(await probe(bases, '/ready')).toEqual(all(200, 'degraded'))
    expect(await probe(bases, '/strict')).toEqual(all(503, 'degraded'))
    expect(await probe(bases, '/live')).toEqual(all(200, 'ok')) // liveness never asks Redis

    await redis.server.restart()
    await busUp(cache)
    await cache.ready()
    expect(await probe(bases, '/ready')).toEqual(all(200, 'ok'))
    expect(await probe(bases, '/strict')).toEqual(all(200, 'ok'))
    expect((await send(bases.fastify as string, '/plugin/ready')).status).toBe(200)
  })

  it('a frozen Redis (SIGSTOP): a burst of probes shares one check and is answered within the timeout', async () => {
    // Commands would wait 10 s for Redis: only the health timeout (300 ms) bounds the answer.
    const cache = await makeNode(redis.url, { l2: { timeout: 10_000 } })
    const bases = await apps(cache, '300ms')
    const health = vi.spyOn(cache, 'health')
    redis.server.freeze()
    try {
      const started = performance.now()
      const replies = await Promise.all(Array.from({ length: 5 }, () => send(bases.node as string, '/ready')))
      const elapsed = performance.now() - started
      expect(elapsed).toBeLessThan(3000) // far below the 10 s command timeout
      expect(health).toHaveBeenCalledTimes(1)
      for (const reply of replies) {
        expect(reply.status).toBe(200)
        expect(JSON.parse(reply.text)).toMatchObject({
          status: 'degraded',
          l2: { ok: false, error: 'Redis did not answer a PING within 300 ms' },
        })
      }
      expect((await send(bases.express as string, '/strict')).status).toBe(503)
    } finally {
      redis.server.thaw()
    }
  })

  it('draining: readiness answers 503 while liveness stays 200; HEAD has no body', async () => {
    const cache = makeCache()
    const bases = await apps(cache)
    beginShutdown()
    expect(isShuttingDown()).toBe(true)
    expect(await probe(bases, '/ready')).toEqual(all(503, 'draining'))
    expect(await probe(bases, '/live')).toEqual(all(200, 'ok'))
    const head = await send(bases.node as string, '/ready', { method: 'HEAD' })
    expect([head.status, head.body.length]).toEqual([503, 0])
    cancelShutdown()
    expect(await probe(bases, '/ready')).toEqual(all(200, 'ok'))
  })

  it('several caches: the worst status wins, and a closed cache answers 503', async () => {
    const a = makeCache({ namespace: 'a' })
    const b = makeCache({ namespace: 'b' })
    const bases = await apps([a, b])
    expect(await probe(bases, '/ready')).toEqual(all(200, 'ok'))
    await b.close()
    expect(await probe(bases, '/ready')).toEqual(all(503, 'down'))
    const report = await checkHealth([a, b])
    expect(report.body).toMatchObject({
      status: 'down',
      caches: [{ namespace: 'a', status: 'ok' }, { namespace: 'b' }],
    })
  })

  it('liveness fails after the event loop was blocked longer than maxEventLoopDelay', async () => {
    const server = createServer(livenessHandler({ maxEventLoopDelay: 100 }))
    const base = await listen(server)
    expect((await send(base, '/')).status).toBe(200)
    const until = performance.now() + 300
    while (performance.now() < until); // block the loop
    const reply = await send(base, '/')
    expect(reply.status).toBe(503)
    expect((JSON.parse(reply.text) as { eventLoopDelayMs: number }).eventLoopDelayMs).toBeGreaterThanOrEqual(200)
  })

  it('misuse throws TypeErrors naming the bad value', () => {
    const cache = makeCache()
    expect(() => healthHandler({} as Cache)).toThrow(/Expected a cache made by createCache/)
    expect(() => healthHandler([])).toThrow(TypeError)
    expect(() => healthHandler(cache, { timeout: 'soon' as never })).toThrow(/`timeout`/)
    expect(() => healthHandler(cache, { requireL2: 'yes' as never })).toThrow(/`requireL2`/)
    expect(() => livenessHandler({ maxEventLoopDelay: -1 })).toThrow(/`maxEventLoopDelay`/)
    expect(() => fastifyLiveness({ maxEventLoopDelay: 'x' as never })).toThrow(TypeError)
    expect(() => drainOnSignal({ signals: ['TERM' as NodeJS.Signals] })).toThrow(/`signals`/)
    expect(() => drainOnSignal({ close: 1 as never })).toThrow(/`close`/)
    expect(() => drainOnSignal({ delay: 'later' as never })).toThrow(/`delay`/)
  })

  it('drainOnSignal: SIGTERM makes readiness 503 during the delay, runs close, then the process ends by SIGTERM', async () => {
    const worker = new Worker(fileURLToPath(new URL('../fixtures/health/drain_worker.ts', import.meta.url)), [])
    try {
      const { port } = (await worker.next('port')) as { port: number }
      const base = `http://127.0.0.1:${port}`
      expect((await send(base, '/ready')).status).toBe(200)
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        worker.child.once('exit', (_code, signal) => resolve(signal)),
      )
      worker.child.kill('SIGTERM')
      await worker.next('signal')
      const draining = await send(base, '/ready')
      expect([draining.status, JSON.parse(draining.text).status]).toEqual([503, 'draining'])
      expect((await send(base, '/live')).status).toBe(200)
      await worker.next('closing')
      expect((await send(base, '/ready')).status).toBe(503)
      worker.send('go')
      expect(await exited).toBe('SIGTERM')
    } finally {
      worker.kill()
    }
  })
})
