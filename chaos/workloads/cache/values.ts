/**
 * The values the cache workload writes: one per (key, version), carrying what the codec promises to round-trip
 * (a Date, a BigInt beyond 64 bits, a Set, a padded string sizing the data set), and the check that a value
 * read back is one of them. Every field is derived from (key, version), so a value damaged anywhere (a flipped
 * byte, a truncation that still decodes, someone else's bytes) is told apart: a wrong value, never a version.
 */

/**
 * A read as the node reports it: `[version, origin, layer]` (who made the value, which tier answered), `null` for
 * a miss, or what came back instead of a workload value.
 */
export type Observation = [version: number, origin: string, layer: string] | null | { wrong: string }

const EPOCH = 1_700_000_000_000
const BIG = 10n ** 30n

export interface WorkloadValue {
  key: string
  version: number
  /** Who made it: `n<node>/<cache>:set` or `n<node>/<cache>:fill` (cache: the node's nth cache). */
  origin: string
  at: Date
  big: bigint
  tags: Set<string>
  pad: string
}

/** Padding of a key's values (100 B to 2 KB, fixed per key): the data set the maxmemory faults squeeze. */
export function padOf(key: string): number {
  let hash = 0
  for (let i = 0; i < key.length; i++) hash = (Math.imul(hash, 31) + key.charCodeAt(i)) >>> 0
  return 100 + (hash % 1900)
}

export function valueOf(key: string, version: number, origin: string): WorkloadValue {
  return {
    key,
    version,
    origin,
    at: new Date(EPOCH + version),
    big: BigInt(version) * BIG,
    tags: new Set(['chaos', key]),
    pad: 'x'.repeat(padOf(key)),
  }
}

/** What a read returned, as an observation; `layer` says which tier answered ('l1', 'l2', or 'factory'). */
export function observe(key: string, value: unknown, layer = '?'): Observation {
  if (value === undefined) return null
  const v = value as Partial<WorkloadValue> | null
  if (
    typeof v === 'object' &&
    v !== null &&
    v.key === key &&
    Number.isSafeInteger(v.version) &&
    v.at instanceof Date &&
    v.at.getTime() === EPOCH + (v.version as number) &&
    v.big === BigInt(v.version as number) * BIG &&
    v.tags instanceof Set &&
    v.tags.has(key) &&
    typeof v.origin === 'string' &&
    typeof v.pad === 'string' &&
    v.pad.length === padOf(key) &&
    /^x*$/.test(v.pad)
  )
    return [v.version as number, v.origin as string, layer]
  return { wrong: describeValue(value) }
}

function describeValue(value: unknown): string {
  let text: string
  try {
    text = `${Object.prototype.toString.call(value)} ${JSON.stringify(value, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))}`
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
