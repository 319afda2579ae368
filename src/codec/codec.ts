import { Packr } from 'msgpackr'
import { describe } from '../internal/describe.js'

/**
 * Turns values into bytes for Redis and back. A codec must be symmetric:
 * `decode(encode(v))` is equal to `v` for every value it accepts. It throws `TypeError` for
 * values it cannot carry, rather than silently dropping them.
 */
export interface Codec {
  /** Shown in diagnostics. */
  readonly name: string
  encode(value: unknown): Uint8Array
  decode(bytes: Uint8Array): unknown
}

/**
 * The default codec: MessagePack via msgpackr with structured cloning, so Date, Map, Set,
 * RegExp, Error, typed arrays and Buffer, BigInt of any size, and nested or circular data
 * round-trip. Functions and symbols are rejected with a `TypeError`. Records (msgpackr's object
 * shapes) are defined inline in each payload, so any process can decode any payload.
 */
export function msgpackCodec(): Codec {
  const packr = new Packr({
    structuredClone: true,
    useBigIntExtension: true,
    moreTypes: true,
    writeFunction: () => {
      throw new TypeError('function')
    },
  })
  return {
    name: 'msgpack',
    encode(value) {
      let bytes: Uint8Array
      try {
        bytes = packr.pack(value)
      } catch (error) {
        // A function (our writeFunction) or a symbol (msgpackr's plain `Unknown type: symbol`) is misuse: name it.
        const found = findValue(value, (v) => typeof v === 'function' || typeof v === 'symbol')
        if (found !== undefined)
          throw new TypeError(
            `${found.path} is ${found.kind} (${found.shown}), which does not survive a round trip through Redis: cache plain data`,
            { cause: error },
          )
        throw new TypeError(`Cannot encode ${describe(value)}: ${(error as Error).message}`, { cause: error })
      }
      // Each level of nesting takes at least one byte, so only a payload longer than the limit can be too deep.
      if (bytes.length > MAX_DEPTH && tooDeep(value))
        throw new TypeError(
          `Cannot encode ${describe(value)}: it is nested more than ${MAX_DEPTH} levels deep, which msgpack can write but not always read back`,
        )
      return bytes
    },
    decode(bytes) {
      return packr.unpack(bytes)
    },
  }
}

/**
 * A JSON codec, for interoperability with other languages reading the same keys. It carries
 * only what JSON carries: Dates come back as strings, Maps and Sets as `{}`, BigInt throws.
 */
export function jsonCodec(): Codec {
  const unencodable = (v: unknown): boolean => typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint'
  return {
    name: 'json',
    encode(value) {
      let text: string
      try {
        text = JSON.stringify(value, (_key, v: unknown) => {
          if (unencodable(v)) throw new TypeError('unencodable')
          return v
        })
      } catch (error) {
        const found = findValue(value, unencodable)
        if (found === undefined)
          throw error instanceof TypeError
            ? error
            : new TypeError(`Cannot encode ${describe(value)}: ${(error as Error).message}`, { cause: error })
        const hint =
          found.kind === 'a bigint'
            ? 'use the msgpack codec (the default), or store it as a string'
            : 'cache plain data'
        throw new TypeError(`${found.path} is ${found.kind} (${found.shown}), which JSON cannot carry: ${hint}`, {
          cause: error,
        })
      }
      return Buffer.from(text, 'utf8')
    },
    decode(bytes) {
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown
    },
  }
}

/** The first part of a value that a codec cannot carry: where it is (`value.items[2].format`) and what it is. */
interface Found {
  path: string
  kind: string
  shown: string
}

const MAX_VISITS = 10_000

/**
 * The deepest nesting the msgpack codec accepts. msgpackr recurses once per level and writes deeper values than it
 * can read back (on Node 24 a Map nested 6,487 deep was written, then overflowed the stack when read; arrays overflow
 * from about 1,350 levels), so deeper values are refused when written rather than stored unreadable, with room left
 * for the caller's own stack. No value a cache holds in practice comes near it.
 */
export const MAX_DEPTH = 500

/** Whether `value` has containers nested more than MAX_DEPTH deep. Iterative, safe with circular data. */
function tooDeep(value: unknown): boolean {
  const seen = new Set<object>()
  const stack: Array<[v: unknown, depth: number]> = [[value, 0]]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [v, depth] = next
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || seen.has(v)) continue
    if (depth >= MAX_DEPTH) return true
    seen.add(v)
    if (v instanceof Map)
      for (const [k, item] of v as Map<unknown, unknown>) stack.push([k, depth + 1], [item, depth + 1])
    else if (v instanceof Set) for (const item of v as Set<unknown>) stack.push([item, depth + 1])
    else if (Array.isArray(v)) for (const item of v as unknown[]) stack.push([item, depth + 1])
    else for (const item of Object.values(v)) stack.push([item, depth + 1])
  }
  return false
}

/** `describe(v)` without its backticks and type: `"a"`, `1n`, `Symbol(x)`, `[Function: f]`. */
function shown(v: unknown): string {
  return describe(v).replace(/^`|` \(\w+\)$/g, '')
}

/**
 * Finds the first part of `value` (itself, or nested in objects, arrays, Maps and Sets) that `bad` matches, for an
 * error message. Runs only after an encode failed; breadth first, bounded in visits, safe with circular data.
 */
function findValue(value: unknown, bad: (v: unknown) => boolean): Found | undefined {
  const seen = new Set<object>()
  const queue: Array<[path: string, v: unknown]> = [['value', value]]
  for (let next = queue.shift(); next !== undefined && seen.size < MAX_VISITS; next = queue.shift()) {
    const [path, v] = next
    if (bad(v)) return { path: `\`${path}\``, kind: `a ${typeof v}`, shown: `\`${shown(v)}\`` }
    if (typeof v !== 'object' || v === null || seen.has(v)) continue
    seen.add(v)
    if (v instanceof Map) for (const [k, item] of v) queue.push([`${path}.get(${shown(k)})`, item])
    else if (v instanceof Set) for (const item of v) queue.push([`${path} (a Set member)`, item])
    else if (Array.isArray(v)) v.forEach((item, i) => queue.push([`${path}[${i}]`, item]))
    else
      for (const [k, item] of Object.entries(v))
        queue.push([/^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, item])
  }
  return undefined
}

export function isCodec(value: unknown): value is Codec {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Codec).encode === 'function' &&
    typeof (value as Codec).decode === 'function'
  )
}
