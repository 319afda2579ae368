/**
 * Tracing with a real redis-server: the diagnostics tracing channels publish start/asyncEnd (and error) for each
 * operation and nothing for L1 hits; tiercache/otel turns them into spans an in-memory exporter receives, nested
 * request > getOrSet > factory > the factory's own span, errors marked, keys only with recordKeys; and reports the
 * metric catalogue through an OpenTelemetry MetricReader.
 */
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { tracingChannel, type TracingChannelSubscribers } from 'node:diagnostics_channel'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { TraceMessage, TracedOperation } from '../../src/index.js'
import { instrument } from '../../src/otel/index.js'
import { makeNode } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
const OPERATIONS: TracedOperation[] = ['get', 'getMany', 'getOrSet', 'factory', 'set', 'invalidate']

/** Records `<operation>:<event>[:<key or kind>]` for every tracing channel event until the test ends. */
function record(): string[] {
  const seen: string[] = []
  for (const operation of OPERATIONS) {
    const channel = tracingChannel<unknown, TraceMessage>(`tiercache:${operation}`)
    const note = (event: string) => (m: TraceMessage) =>
      void seen.push([operation, event, m.key ?? m.kind].filter(Boolean).join(':'))
    const handlers: TracingChannelSubscribers<TraceMessage> = {
      start: note('start'),
      end: () => undefined,
      asyncStart: () => undefined,
      asyncEnd: note('asyncEnd'),
      error: note('error'),
    }
    channel.subscribe(handlers)
    onTestFinished(() => void channel.unsubscribe(handlers))
  }
  return seen
}

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('tracing channels', () => {
  it('publish start and asyncEnd per operation (error for failures), and nothing for L1 hits', async () => {
    const cache = await makeNode(redis.url, { namespace: 'traced' })
    await cache.set('hot', 1)
    const seen = record()
    await cache.get('hot')
    await cache.getMany(['hot'])
    await cache.getOrSet('hot', () => 2)
    expect(seen).toEqual([]) // L1 hits

    await cache.get('cold')
    await cache.getMany(['hot', 'cold'])
    await cache.getOrSet('made', () => 'v')
    await expect(cache.getOrSet('bad', () => Promise.reject(new Error('db down')))).rejects.toThrow()
    await cache.set('s', 1)
    await cache.delete('s')
    await cache.invalidateTags(['t'])
    await cache.clear()
    expect(seen).toEqual([
      'get:start:cold',
      'get:asyncEnd:cold',
      'getMany:start',
      'getMany:asyncEnd',
      'getOrSet:start:made',
      'factory:start:made',
      'factory:asyncEnd:made',
      'getOrSet:asyncEnd:made',
      'getOrSet:start:bad',
      'factory:start:bad',
      'factory:error:bad',
      'factory:asyncEnd:bad',
      'getOrSet:error:bad',
      'getOrSet:asyncEnd:bad',
      'set:start:s',
      'set:asyncEnd:s',
      'invalidate:start:s',
      'invalidate:asyncEnd:s',
      'invalidate:start:tags',
      'invalidate:asyncEnd:tags',
      'invalidate:start:clear',
      'invalidate:asyncEnd:clear',
    ])
  })
})

describe('tiercache/otel', () => {
  const contextManager = new AsyncLocalStorageContextManager()
  beforeAll(() => void context.setGlobalContextManager(contextManager.enable()))
  afterAll(() => {
    context.disable()
  })

  it('spans nest request > getOrSet > factory > the factory’s own span; errors are marked; keys only when asked', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
    const cache = await makeNode(redis.url, { namespace: 'otel' })
    const instrumentation = instrument({ tracerProvider: provider })
    onTestFinished(() => instrumentation.disable())
    const app = provider.getTracer('app')

    await app.startActiveSpan('request', async (request) => {
      await cache.getOrSet('user:1', async () => {
        await app.startActiveSpan('db.query', async (query) => query.end())
        return { id: 1 }
      })
      await cache.get('user:1') // an L1 hit: no span
      await expect(cache.getOrSet('user:2', () => Promise.reject(new Error('db down')))).rejects.toThrow()
      request.end()
    })

    const spans = exporter.getFinishedSpans()
    const byName = (name: string) => spans.filter((s) => s.name === name)
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        'db.query',
        'request',
        'tiercache factory',
        'tiercache factory',
        'tiercache getOrSet',
        'tiercache getOrSet',
      ].sort(),
    )
    const parentOf = (span: (typeof spans)[number]) =>
      spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId)
    const [query] = byName('db.query')
    const factory = parentOf(query!)
    const getOrSet = parentOf(factory!)
    expect([factory?.name, getOrSet?.name, parentOf(getOrSet!)?.name]).toEqual([
      'tiercache factory',
      'tiercache getOrSet',
      'request',
    ])
    expect(getOrSet?.attributes).toEqual({ 'tiercache.operation': 'getOrSet', 'tiercache.namespace': 'otel' })
    const failed = byName('tiercache factory').find((s) => s !== factory)
    expect(failed?.status.code).toBe(2) // ERROR
    expect(failed?.events.map((e) => e.name)).toEqual(['exception'])

    instrumentation.disable()
    exporter.reset()
    const withKeys = instrument({ tracerProvider: provider, recordKeys: true })
    onTestFinished(() => withKeys.disable())
    await cache.get('absent')
    expect(
      exporter.getFinishedSpans().map((s) => [s.name, s.attributes['tiercache.key'], s.attributes['tiercache.hit']]),
    ).toEqual([['tiercache get', 'absent', false]])
  })

  it('reports the metric catalogue as OpenTelemetry instruments', async () => {
    const reader = new Reader()
    const meterProvider = new MeterProvider({ readers: [reader] })
    const cache = await makeNode(redis.url, { namespace: 'm' })
    const instrumentation = instrument({ meterProvider, caches: cache, traces: false })
    onTestFinished(() => instrumentation.disable())
    await cache.getOrSet('k', () => 'v')
    await cache.get('k')

    const { resourceMetrics } = await reader.collect()
    const points = new Map<string, Array<DataPoint<unknown>>>()
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics)
        points.set(metric.descriptor.name, metric.dataPoints as Array<DataPoint<unknown>>)
    expect(points.get('tiercache.lookups')).toContainEqual(
      expect.objectContaining({ attributes: { namespace: 'm', tier: 'l1', result: 'hit' }, value: 1 }),
    )
    expect(points.get('tiercache.factory_calls')?.[0]?.value).toBe(1)
    expect(points.get('tiercache.bus_up')?.[0]?.value).toBe(1)
    const durations = points.get('tiercache.factory_duration_seconds')
    expect(durations?.[0]).toMatchObject({ attributes: { namespace: 'm', result: 'ok' }, value: { count: 1 } })
    expect(points.get('tiercache.redis_command_duration_seconds')?.length).toBeGreaterThan(0)
    await meterProvider.shutdown()
  })

  it('misuse throws TypeErrors naming the bad value', () => {
    expect(() => instrument({ recordKeys: 'yes' as never })).toThrow(/`recordKeys`/)
    expect(() => instrument({ caches: [{}] as never })).toThrow(/`caches`/)
  })
})
