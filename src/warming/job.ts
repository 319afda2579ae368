/**
 * A warming job: where its keys come from, how a value is loaded, and how it is cached. Defined once
 * with `defineWarmJob` (validated there, so a bad job fails when the config loads, not halfway
 * through a run) and run with `runWarmJob` or the `warm-cache` command.
 */
import type { Duration } from '../index.js'
import { describe, parseDuration } from '../seam.js'

/** Keys (or items a `key` function maps to keys): an array, a (async) iterable, or a function returning one. */
export type KeySource<T> =
  Iterable<T> | AsyncIterable<T> | (() => Iterable<T> | AsyncIterable<T> | Promise<Iterable<T> | AsyncIterable<T>>)

/** What a loader gets besides its item(s). */
export interface LoadContext {
  /** Aborted when the attempt times out (`timeout`): pass it to your database or HTTP client. */
  readonly signal: AbortSignal
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number
}

/** The values of one `loadMany` call: a `Map` from item to value, or an array in the order of the items. */
export type LoadManyResult<T, V> = ReadonlyMap<T, V | undefined> | ReadonlyArray<V | undefined>

export interface WarmJobDefinition<T = string, V = unknown> {
  /**
   * Names the job in reports, in `warm-cache --job <name>`, and in its lease and run record in Redis:
   * 1-100 letters, digits, `_`, `-` or `.`.
   */
  name: string
  /**
   * The keys to warm, streamed: an array, an iterable or async iterable (a generator, a database
   * cursor), or a function returning one (called once per run). Never held in memory by the runner:
   * items are pulled as capacity frees up, and the iterator is closed (`return()`) when a run stops early.
   */
  keys: KeySource<T>
  /**
   * Maps an item of `keys` to its cache key (`(id) => \`product:${id}\``).
   * @default the item itself, which must then be a string
   */
  key?: (item: T) => string
  /**
   * Loads the value of one item. Resolve `undefined` when there is nothing to cache (counted as skipped);
   * `null` is a value. Give `load`, `loadMany`, or both (`loadMany` is then used).
   */
  load?: (item: T, context: LoadContext) => V | undefined | Promise<V | undefined>
  /**
   * Loads the values of up to `batchSize` items in one call: a `Map` keyed by item, or an array in the
   * order of `items`. Items it leaves out (or maps to `undefined`) are skipped. Its values are written with
   * one `setMany` (one Redis round trip per batch).
   */
  loadMany?: (items: T[], context: LoadContext) => LoadManyResult<T, V> | Promise<LoadManyResult<T, V>>
  /**
   * Time to live of the values written.
   * @default the cache's `ttl`
   */
  ttl?: Duration
  /**
   * Shortens each entry's `ttl` by a random part of up to this fraction (0 to 1), so that entries warmed
   * together do not all expire (and miss) at the same moment. Needs `ttl`.
   * @default 0
   */
  jitter?: number
  /** Tags of the entries written (for `invalidateTags`): fixed, or computed from the value and item. */
  tags?: readonly string[] | ((value: V, item: T) => readonly string[])
  /**
   * Most `load` calls (or `loadMany` batches) in flight at once. A timed-out call keeps its slot until it
   * settles, so this is a true bound on what your database sees.
   * @default 8
   */
  concurrency?: number
  /**
   * Keys per `loadMany` call, per existence check (`onlyMissing`, `ifTtlBelow`) and per Redis write.
   * @default 100
   */
  batchSize?: number
  /**
   * Longest wait for one `load` (or `loadMany`) call; past it the attempt fails with `WarmTimeoutError`
   * and its `signal` is aborted. `0` for none.
   * @default '30s'
   */
  timeout?: Duration
  /**
   * Further attempts after a failed load or Redis write (not after a value that cannot be cached).
   * @default 2
   */
  retries?: number
  /**
   * Wait before the first retry; it doubles for each further one (with jitter, at most 30 s).
   * @default '100ms'
   */
  retryDelay?: Duration
}

/**
 * A job as `defineWarmJob` returns it: validated, with every default resolved. Its functions are typed
 * bivariantly, so a `WarmJob<number, Product>` is also a `WarmJob<unknown, unknown>` (a config's list of jobs).
 */
export interface WarmJob<T = string, V = unknown> {
  readonly name: string
  readonly keys: KeySource<T>
  readonly key: Bivariant<(item: T) => string> | undefined
  readonly load: Bivariant<(item: T, context: LoadContext) => V | undefined | Promise<V | undefined>> | undefined
  readonly loadMany:
    Bivariant<(items: T[], context: LoadContext) => LoadManyResult<T, V> | Promise<LoadManyResult<T, V>>> | undefined
  /** In ms; undefined for the cache's ttl. */
  readonly ttl: number | undefined
  readonly jitter: number
  readonly tags: readonly string[] | Bivariant<(value: V, item: T) => readonly string[]> | undefined
  readonly concurrency: number
  readonly batchSize: number
  /** In ms; 0 for none. */
  readonly timeout: number
  readonly retries: number
  /** In ms. */
  readonly retryDelay: number
}

/** `F`, with its parameters checked bivariantly (as a method's are). */
type Bivariant<F> = F extends (...args: infer A) => infer R ? { method(...args: A): R }['method'] : never

/** The defaults of a job, quoted by the TSDoc above and the README. */
export const WARM_DEFAULTS = Object.freeze({
  concurrency: 8,
  batchSize: 100,
  timeout: '30s',
  retries: 2,
  retryDelay: '100ms',
  jitter: 0,
} as const)

/** Marks a validated job, across copies of this module (a config loaded by another loader). */
const BRAND = Symbol.for('tiercache.warmJob')
const NAME = /^[A-Za-z0-9_.-]{1,100}$/

/**
 * Validates a job and resolves its defaults. Type the items with the generic when `keys` does not say
 * (`defineWarmJob<number, Product>({ … })`).
 * @throws TypeError naming the option when a value is invalid.
 */
export function defineWarmJob<T = string, V = unknown>(job: WarmJobDefinition<T, V>): WarmJob<T, V> {
  if (isWarmJob<T, V>(job)) return job
  if (typeof job !== 'object' || job === null)
    throw new TypeError(`Expected a warm job to be an object, got ${describe(job)}`)
  const { name } = job
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(`Expected \`name\` to be 1-100 letters, digits, '_', '-' or '.', got ${describe(name)}`)
  const where = `job "${name}"`
  if (!isKeySource(job.keys))
    throw new TypeError(
      `Expected \`keys\` of ${where} to be an array, an iterable, an async iterable or a function returning one, got ${describe(job.keys)}`,
    )
  optionalFunction(job.key, 'key', where)
  optionalFunction(job.load, 'load', where)
  optionalFunction(job.loadMany, 'loadMany', where)
  if (job.load === undefined && job.loadMany === undefined)
    throw new TypeError(`Expected ${where} to have \`load\` or \`loadMany\`, got neither`)
  if (job.tags !== undefined && typeof job.tags !== 'function' && !isStringArray(job.tags))
    throw new TypeError(
      `Expected \`tags\` of ${where} to be an array of strings or a function, got ${describe(job.tags)}`,
    )
  const ttl = job.ttl === undefined ? undefined : parseDuration(job.ttl, 'ttl')
  const jitter = job.jitter ?? WARM_DEFAULTS.jitter
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1))
    throw new TypeError(`Expected \`jitter\` of ${where} to be a number from 0 to 1, got ${describe(jitter)}`)
  if (jitter > 0 && ttl === undefined)
    throw new TypeError(`Expected \`ttl\` of ${where} to be set when \`jitter\` is, got ${describe(job.ttl)}`)
  const resolved: WarmJob<T, V> = {
    name,
    keys: job.keys,
    key: job.key,
    load: job.load,
    loadMany: job.loadMany,
    ttl,
    jitter,
    tags: job.tags,
    concurrency: wholeNumber(job.concurrency ?? WARM_DEFAULTS.concurrency, 'concurrency', 1),
    batchSize: wholeNumber(job.batchSize ?? WARM_DEFAULTS.batchSize, 'batchSize', 1),
    timeout: parseDuration(job.timeout ?? WARM_DEFAULTS.timeout, 'timeout', true),
    retries: wholeNumber(job.retries ?? WARM_DEFAULTS.retries, 'retries', 0),
    retryDelay: parseDuration(job.retryDelay ?? WARM_DEFAULTS.retryDelay, 'retryDelay', true),
  }
  Object.defineProperty(resolved, BRAND, { value: true })
  return Object.freeze(resolved)
}

/** True for a job made by `defineWarmJob` (from any copy of tiercache). */
export function isWarmJob<T = unknown, V = unknown>(value: unknown): value is WarmJob<T, V> {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
}

/** A whole number from `min` up, or a TypeError naming `name`. */
export function wholeNumber(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min)
    throw new TypeError(`Expected \`${name}\` to be a whole number from ${min} and up, got ${describe(value)}`)
  return value
}

function optionalFunction(value: unknown, name: string, where: string): void {
  if (value !== undefined && typeof value !== 'function')
    throw new TypeError(`Expected \`${name}\` of ${where} to be a function, got ${describe(value)}`)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((t) => typeof t === 'string')
}

function isKeySource(value: unknown): boolean {
  if (typeof value === 'function') return true
  if (typeof value !== 'object' || value === null) return false // a string is iterable too, but by character
  return Symbol.iterator in value || Symbol.asyncIterator in value
}
