/**
 * `tiercache/otel`: the core's tracing channels as OpenTelemetry spans, and the metric catalogue (the same metrics
 * as `tiercache/prometheus`) as OpenTelemetry instruments. `@opentelemetry/api` is an optional peer dependency; the
 * SDK (providers, exporters, context manager) is the application's.
 *
 * Spans start in the caller's context (they nest under its active span), and the operation runs inside the span's
 * context, so spans a factory starts nest under the `factory` span, itself under its `getOrSet`. L1 hits are not
 * traced (see src/observability/tracing.ts). Keys are recorded only with `recordKeys`.
 */
import {
  context,
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Meter,
  type MeterProvider,
  type ObservableResult,
  type Span,
  type TracerProvider,
} from '@opentelemetry/api'
import { tracingChannel, type TracingChannelSubscribers } from 'node:diagnostics_channel'
import { Cache, type TraceMessage, type TracedOperation } from '../index.js'
import { feedHistograms, lookupFor, METRICS, type Labels } from '../observability/metrics.js'
import { describe, observe, redisOf } from '../seam.js'

/** Options of `instrument`. */
export interface InstrumentOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider
  /** Where metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider
  /** The caches whose metrics to report (label `namespace`: each one's name). @default none: no metrics */
  caches?: Cache | readonly Cache[]
  /** Record each operation's key as `tiercache.key` (keys may hold personal data). @default false */
  recordKeys?: boolean
  /** Make spans (every cache of the process). @default true */
  traces?: boolean
}

/** What `instrument` returns. */
export interface Instrumentation {
  /** Stops making spans and reporting metrics. */
  disable(): void
}

const OPERATIONS: readonly TracedOperation[] = ['get', 'getMany', 'getOrSet', 'factory', 'set', 'invalidate']

/**
 * Turns tiercache's tracing channels into spans and its metrics into instruments.
 * @throws TypeError naming the bad value.
 */
export function instrument(options: InstrumentOptions = {}): Instrumentation {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const { recordKeys = false, traces = true } = options
  for (const [name, value] of [
    ['recordKeys', recordKeys],
    ['traces', traces],
  ] as const)
    if (typeof value !== 'boolean') throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`)
  const caches = options.caches === undefined ? [] : Array.isArray(options.caches) ? options.caches : [options.caches]
  for (const cache of caches as readonly unknown[])
    if (!(cache instanceof Cache))
      throw new TypeError(`Expected \`caches\` to hold caches made by createCache(), got ${describe(cache)}`)
  const stops: Array<() => void> = []
  if (traces) stops.push(traceOperations(options.tracerProvider ?? trace.getTracerProvider(), recordKeys))
  if (caches.length > 0)
    stops.push(
      reportMetrics(
        (options.meterProvider ?? metrics.getMeterProvider()).getMeter('tiercache'),
        caches as readonly Cache[],
      ),
    )
  let disabled = false
  return {
    disable() {
      if (disabled) return
      disabled = true
      for (const stop of stops) stop()
    },
  }
}

function traceOperations(provider: TracerProvider, recordKeys: boolean): () => void {
  const tracer = provider.getTracer('tiercache')
  const spans = new WeakMap<TraceMessage, Span>()
  const noop = (): void => undefined
  const handlers: TracingChannelSubscribers<TraceMessage> = {
    start(message) {
      const parent = context.active()
      const attributes: Attributes = {
        'tiercache.operation': message.operation,
        'tiercache.namespace': message.namespace,
      }
      if (recordKeys && message.key !== undefined) attributes['tiercache.key'] = message.key
      if (message.count !== undefined) attributes['tiercache.count'] = message.count
      if (message.kind !== undefined) attributes['tiercache.kind'] = message.kind
      const span = tracer.startSpan(`tiercache ${message.operation}`, { kind: SpanKind.INTERNAL, attributes }, parent)
      spans.set(message, span)
      const active = trace.setSpan(parent, span)
      message.within = (fn) => context.with(active, fn)
    },
    end: noop,
    asyncStart: noop,
    error(message) {
      const span = spans.get(message)
      if (span === undefined) return
      const error = message.error
      span.recordException(error instanceof Error ? error : String(error))
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
    },
    asyncEnd(message) {
      const span = spans.get(message)
      if (span === undefined) return
      if (message.operation === 'get' && message.error === undefined)
        span.setAttribute('tiercache.hit', message.result !== undefined)
      span.end()
      spans.delete(message)
    },
  }
  const channels = OPERATIONS.map((operation) => tracingChannel<unknown, TraceMessage>(`tiercache:${operation}`))
  for (const channel of channels) channel.subscribe(handlers)
  return () => {
    for (const channel of channels) channel.unsubscribe(handlers)
  }
}

function reportMetrics(meter: Meter, caches: readonly Cache[]): () => void {
  const removals: Array<() => void> = []
  const histograms = new Map<string, ReturnType<Meter['createHistogram']>>()
  for (const metric of METRICS) {
    const name = `tiercache.${metric.name}`
    const unit = metric.name.endsWith('_seconds') ? 's' : metric.name.endsWith('_bytes') ? 'By' : '1'
    const read = metric.read
    if (metric.kind === 'histogram') {
      const buckets = metric.buckets === undefined ? undefined : [...metric.buckets]
      histograms.set(
        metric.name,
        meter.createHistogram(name, {
          description: metric.help,
          unit,
          ...(buckets !== undefined && { advice: { explicitBucketBoundaries: buckets } }),
        }),
      )
      continue
    }
    if (read === undefined) continue
    const instrument =
      metric.kind === 'counter'
        ? meter.createObservableCounter(name, { description: metric.help, unit })
        : meter.createObservableGauge(name, { description: metric.help, unit })
    const callback = (result: ObservableResult): void => {
      for (const cache of caches)
        for (const [labels, value] of read(observe(cache))) result.observe(value, { namespace: cache.name, ...labels })
    }
    instrument.addCallback(callback)
    removals.push(() => instrument.removeCallback(callback))
  }
  removals.push(
    feedHistograms(lookupFor(caches, redisOf), (name: string, namespace: string, labels: Labels, seconds: number) =>
      histograms.get(name)?.record(seconds, { namespace, ...labels }),
    ),
  )
  return () => {
    for (const remove of removals) remove()
  }
}
