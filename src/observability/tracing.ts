/**
 * Tracing: Node `diagnostics_channel` tracing channels around the operations that leave the process (or run a
 * factory), and a plain channel for every Redis command. Nobody subscribed means nothing is built: callers check
 * `hasSubscribers` before making a message. L1 hits are not traced (they are counted, and `tiercache:hit` carries
 * each one): a traced hit would cost more than the hit itself.
 *
 * | channel                   | published for                                                          |
 * | ------------------------- | ---------------------------------------------------------------------- |
 * | `tiercache:get`           | a `get` that reads Redis (L1 did not answer)                           |
 * | `tiercache:getMany`       | a `getMany` with keys L1 did not answer, when Redis is configured       |
 * | `tiercache:getOrSet`      | a `getOrSet` from the point L1 did not answer (read, factory, write)    |
 * | `tiercache:factory`       | each run of a factory (nested in the `getOrSet` that started it)        |
 * | `tiercache:set`           | `set`, `setMany`                                                        |
 * | `tiercache:invalidate`    | `delete`, `deleteMany`, `clear`, `invalidateTags`                       |
 * | `tiercache:redis:command` | each Redis command, once settled (plain channel, {@link RedisCommandMessage}) |
 *
 * Tracing channels publish `start`, `end`, `asyncStart`, `asyncEnd` and `error` with one {@link TraceMessage} object.
 */
import { channel, tracingChannel, type TracingChannel } from 'node:diagnostics_channel'

/** The operations traced, each on `tiercache:<operation>`. */
export type TracedOperation = 'get' | 'getMany' | 'getOrSet' | 'factory' | 'set' | 'invalidate'

/** The context object of every tracing channel event of one operation. */
export interface TraceMessage {
  readonly operation: TracedOperation
  /** The cache's namespace. */
  readonly namespace: string
  /** The key (get, getOrSet, factory, set of one entry, delete of one key). */
  readonly key?: string
  /** How many keys or tags the operation covers (getMany, setMany, deleteMany, invalidateTags). */
  readonly count?: number
  /** For `invalidate`: what kind. */
  readonly kind?: 'delete' | 'clear' | 'tags'
  /** Set by `error` subscribers' source: what the operation threw. */
  error?: unknown
  /** What the operation resolved with (set by Node on `asyncEnd`). */
  result?: unknown
  /**
   * A `start` subscriber may set this to run the operation inside its own context (an OpenTelemetry context
   * holding the span, so that spans the factory starts nest under it). Called once, synchronously.
   */
  within?: <R>(fn: () => R) => R
}

/** What `tiercache:redis:command` carries once a command settled. */
export interface RedisCommandMessage {
  /** The connection that ran it (`redisOf(cache)` of the seam tells which cache). */
  readonly connection: object
  /** The command or script name (`GET`, `PUBLISH`, a script's name). */
  readonly command: string
  readonly durationMs: number
  readonly ok: boolean
}

const channels = {
  get: tracingChannel<unknown, TraceMessage>('tiercache:get'),
  getMany: tracingChannel<unknown, TraceMessage>('tiercache:getMany'),
  getOrSet: tracingChannel<unknown, TraceMessage>('tiercache:getOrSet'),
  factory: tracingChannel<unknown, TraceMessage>('tiercache:factory'),
  set: tracingChannel<unknown, TraceMessage>('tiercache:set'),
  invalidate: tracingChannel<unknown, TraceMessage>('tiercache:invalidate'),
} satisfies Record<TracedOperation, TracingChannel<unknown, TraceMessage>>

/** The plain channel of settled Redis commands. */
export const redisCommandChannel = channel('tiercache:redis:command')

/** True when someone subscribed to `tiercache:<operation>` (check it before building a message). */
export function traced(operation: TracedOperation): boolean {
  return channels[operation].hasSubscribers
}

/** Runs `fn` as `message.operation`, publishing the tracing channel's events (call only when {@link traced}). */
export function trace<R>(message: TraceMessage, fn: () => Promise<R>): Promise<R> {
  return channels[message.operation].tracePromise(
    () => (message.within === undefined ? fn() : message.within(fn)),
    message,
  )
}
