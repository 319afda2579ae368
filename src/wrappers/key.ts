/**
 * Stable encoding of a wrapped function's arguments into a cache key: equal arguments give equal
 * keys, whatever the order of an object's keys. Covers what msgpackr carries: primitives
 * (`undefined`, `-0`, `NaN`, bigint), Date, Map and Set (order-independent), arrays, typed arrays
 * and Buffers, RegExp, plain objects (properties whose value is `undefined` are left out, as in
 * JSON) and objects with `toJSON`. Functions, symbols and circular data are refused with a
 * TypeError: they have no stable identity to key by.
 * @internal
 */
import { createHash } from 'node:crypto'
import { describe } from '../internal/describe.js'

/** Encoded arguments longer than this are replaced by their SHA-256, so keys stay short. */
const MAX_PLAIN = 200

export function argumentsKey(name: string, args: readonly unknown[]): string {
  let encoded = ''
  const seen = new Set<object>()
  for (let i = 0; i < args.length; i++) encoded += (i === 0 ? '' : ',') + encode(args[i], seen)
  if (encoded.length > MAX_PLAIN) encoded = `#${createHash('sha256').update(encoded).digest('base64url')}`
  return `${name}(${encoded})`
}

export function encode(value: unknown, seen: Set<object>): string {
  switch (typeof value) {
    case 'undefined':
      return 'u'
    case 'boolean':
      return value ? 't' : 'f'
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value)
    case 'bigint':
      return `${value}n`
    case 'string':
      return JSON.stringify(value)
    case 'object':
      return value === null ? 'null' : encodeObject(value, seen)
    default:
      throw new TypeError(`Cannot build a cache key from an argument: expected data, got ${describe(value)}`)
  }
}

function encodeObject(value: object, seen: Set<object>): string {
  if (seen.has(value)) throw new TypeError(`Cannot build a cache key from circular data: ${describe(value)}`)
  seen.add(value)
  try {
    if (Array.isArray(value)) return `[${value.map((item) => encode(item, seen)).join(',')}]`
    if (value instanceof Date) return `D${value.getTime()}`
    if (value instanceof Map) {
      const entries = [...value].map(([k, v]) => `${encode(k, seen)}:${encode(v, seen)}`)
      return `M{${entries.sort().join(',')}}`
    }
    if (value instanceof Set)
      return `S[${[...value]
        .map((item) => encode(item, seen))
        .sort()
        .join(',')}]`
    if (ArrayBuffer.isView(value)) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
      return `${value.constructor.name}:${bytes.toString('base64')}`
    }
    if (value instanceof RegExp) return `R${String(value)}`
    const toJSON = (value as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return `J${encode(toJSON.call(value), seen)}`
    const proto = Object.getPrototypeOf(value) as object | null
    const tag =
      proto === Object.prototype || proto === null
        ? ''
        : ((proto.constructor as { name?: string } | undefined)?.name ?? '')
    const parts: string[] = []
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k]
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${encode(v, seen)}`)
    }
    return `${tag}{${parts.join(',')}}`
  } finally {
    seen.delete(value)
  }
}
