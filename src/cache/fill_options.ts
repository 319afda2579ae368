/**
 * `GetOrSetOptions` validated and resolved for one miss. Resolution happens only on the miss path
 * (an L1 hit never looks at the options beyond `refreshAhead` on entries that ask for it).
 * @internal
 */
import { describe } from '../internal/describe.js'
import { parseDuration } from '../internal/duration.js'
import { checkKnownOptions } from '../internal/known_options.js'
import { DEFAULTS } from './defaults.js'
import type { GetOrSetOptions } from './options.js'
import type { ExpiryPolicy } from './read_path.js'
import { checkTags } from './write_path.js'

const LOCK_TIMEOUT = parseDuration(DEFAULTS.getOrSet.lockTimeout, 'lockTimeout')

const GET_OR_SET_OPTIONS = [
  'ttl',
  'tags',
  'shouldCache',
  'nullTtl',
  'jitter',
  'grace',
  'softTimeout',
  'hardTimeout',
  'refreshAhead',
  'lock',
  'lockTimeout',
  'background',
  'forceFresh',
] as const

export interface FillOptions<T> {
  ttl: number
  tags: readonly string[] | ((value: T) => readonly string[]) | undefined
  shouldCache: ((value: T) => boolean) | undefined
  /** TTL of a `null` result; false: `null` is not cached. */
  nullTtl: number | false
  jitter: number
  softTimeout: number
  hardTimeout: number
  /** Fraction of the TTL after which a hit refreshes ahead; 0 for never. */
  refreshAhead: number
  /** Grace and refresh window for entries of `ttl`, or undefined when they need neither. */
  expiry: ExpiryPolicy | undefined
  lock: boolean
  lockTimeout: number
  /** Return the factory's value without waiting for the Redis write. */
  background: boolean
  /** Run the factory whatever is cached (no read first), and cache its result. */
  forceFresh: boolean
}

function fraction(value: unknown, name: string, exclusive: boolean): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1) || (exclusive && (value === 0 || value === 1)))
    throw new TypeError(
      `Expected \`${name}\` to be a number ${exclusive ? 'between 0 and 1 (exclusive)' : 'from 0 to 1'}, ` +
        `got ${describe(value)}`,
    )
  return value
}

function callback(value: unknown, name: string): void {
  if (typeof value !== 'function') throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`)
}

export function resolveFill<T>(defaultTtl: number, options: GetOrSetOptions<T> | undefined): FillOptions<T> {
  if (options === undefined) return plain(defaultTtl)
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  checkKnownOptions(options, GET_OR_SET_OPTIONS)
  const ttl = options.ttl === undefined ? defaultTtl : parseDuration(options.ttl, 'ttl')
  const tags = options.tags
  if (tags !== undefined && typeof tags !== 'function') checkTags(tags)
  if (options.shouldCache !== undefined) callback(options.shouldCache, 'shouldCache')
  const grace = options.grace === undefined ? 0 : parseDuration(options.grace, 'grace', true)
  const refreshAhead =
    options.refreshAhead === undefined ? undefined : fraction(options.refreshAhead, 'refreshAhead', true)
  for (const name of ['lock', 'background', 'forceFresh'] as const) {
    const flag = options[name]
    if (flag !== undefined && typeof flag !== 'boolean')
      throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(flag)}`)
  }
  return {
    ttl,
    tags,
    shouldCache: options.shouldCache,
    nullTtl:
      options.nullTtl === false
        ? false
        : options.nullTtl === undefined
          ? ttl
          : parseDuration(options.nullTtl, 'nullTtl'),
    jitter: options.jitter === undefined ? 0 : fraction(options.jitter, 'jitter', false),
    softTimeout: options.softTimeout === undefined ? 0 : parseDuration(options.softTimeout, 'softTimeout'),
    hardTimeout: options.hardTimeout === undefined ? 0 : parseDuration(options.hardTimeout, 'hardTimeout'),
    refreshAhead: refreshAhead ?? 0,
    expiry: expiryPolicyFor(grace, refreshAhead ?? 0, ttl),
    lock: options.lock === true,
    lockTimeout: options.lockTimeout === undefined ? LOCK_TIMEOUT : parseDuration(options.lockTimeout, 'lockTimeout'),
    background: options.background === true,
    forceFresh: options.forceFresh === true,
  }
}

const plainByTtl = new Map<number, FillOptions<never>>()

/** The options of a `getOrSet` without options: one shared frozen object per TTL. */
function plain<T>(ttl: number): FillOptions<T> {
  let resolved = plainByTtl.get(ttl)
  if (resolved === undefined) {
    resolved = Object.freeze({
      ttl,
      tags: undefined,
      shouldCache: undefined,
      nullTtl: ttl,
      jitter: 0,
      softTimeout: 0,
      hardTimeout: 0,
      refreshAhead: 0,
      expiry: undefined,
      lock: false,
      lockTimeout: LOCK_TIMEOUT,
      background: false,
      forceFresh: false,
    })
    if (plainByTtl.size < 64) plainByTtl.set(ttl, resolved)
  }
  return resolved as FillOptions<T>
}

/** How an entry of `ttl` ms is kept: `grace` past expiry, refreshed once `refreshAhead` of it has passed. */
export function expiryPolicyFor(grace: number, refreshAhead: number, ttl: number): ExpiryPolicy | undefined {
  const refreshWindow = refreshAhead === 0 ? 0 : Math.max(1, Math.floor(ttl * (1 - refreshAhead)))
  return grace === 0 && refreshWindow === 0 ? undefined : { grace, refreshWindow }
}
