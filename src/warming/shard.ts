/**
 * Shards: `--shard i/n` splits a job's keys across n workers (a Kubernetes indexed job, n machines) by a
 * hash of the cache key, so each worker takes the same keys on every run and every key is taken by exactly
 * one worker, whatever order the source yields them in.
 */
import { describe } from '../seam.js'

/** Worker `index` (from 0) of `count`. */
export interface Shard {
  readonly index: number
  readonly count: number
}

/** The one shard of an unsharded run. */
export const WHOLE: Shard = Object.freeze({ index: 0, count: 1 })

/**
 * Parses `'i/n'` (0 ≤ i < n) or `{ index, count }`.
 * @throws TypeError naming `name` and the value otherwise.
 */
export function parseShard(value: unknown, name = 'shard'): Shard {
  let index: number | undefined
  let count: number | undefined
  if (typeof value === 'string') {
    const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value)
    if (match !== null) {
      index = Number(match[1])
      count = Number(match[2])
    }
  } else if (typeof value === 'object' && value !== null) {
    ;({ index, count } = value as Partial<Shard>)
  }
  if (
    typeof index !== 'number' ||
    typeof count !== 'number' ||
    !Number.isSafeInteger(index) ||
    !Number.isSafeInteger(count) ||
    count < 1 ||
    index < 0 ||
    index >= count
  )
    throw new TypeError(
      `Expected \`${name}\` to be 'i/n' with 0 ≤ i < n (such as '0/4'), or { index, count }, got ${describe(value)}`,
    )
  return { index, count }
}

/** `'i/n'`. */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`
}

/**
 * The shard (0 to `count` - 1) of a cache key: 32-bit FNV-1a over its UTF-16 code units. Stable across
 * processes, machines and Node versions; spreads sequential keys (`product:1`, `product:2`, …) evenly.
 */
export function shardOf(key: string, count: number): number {
  if (count === 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % count
}
