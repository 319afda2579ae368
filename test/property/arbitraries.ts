/**
 * fast-check generators for the property suite: every kind of value the codec promises to round-trip
 * (README "Values round-trip"; ARCHITECTURE.md, contract point 8), keys (ordinary and odd), TTLs and tags.
 *
 * Left out of `roundTripValue`, on purpose, with what the codec does instead (see RELIABILITY.md):
 * - `-0`: msgpack writes it as the integer 0;
 * - strings with lone surrogates: msgpack strings are UTF-8, which cannot carry them (they come back as U+FFFD);
 * - own `__proto__` keys: msgpackr renames them (`__proto_`) so that decoding cannot set a prototype;
 * - class instances and functions: structured cloning keeps data, not prototypes (functions are refused).
 * `hostileObject` covers the `__proto__` / `constructor` keys separately: no pollution, plain data back.
 */
import fc from 'fast-check'

/** True when `s` has no lone surrogate (what UTF-8, and so msgpack and Redis keys, can carry). */
export const wellFormed = (s: string): boolean => !/\p{Cs}/u.test(s)

/** Well-formed strings (no lone surrogates), from any plane. */
export const text = (maxLength = 16): fc.Arbitrary<string> =>
  fc.string({ unit: 'grapheme', maxLength }).filter(wellFormed)

/** Object keys a value may carry, including ones that mean something to JavaScript (but not `__proto__`). */
const objectKey = fc.oneof(text(8), fc.constantFrom('constructor', 'prototype', 'toString', 'hasOwnProperty', ''))

const finiteOrSpecial = fc.oneof(
  fc.double({ noDefaultInfinity: false, noNaN: false }).filter((n) => !Object.is(n, -0)),
  fc.integer(),
  fc.constantFrom(0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 2 ** 64),
)

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  finiteOrSpecial,
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  text(),
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15) }),
  fc.date({ noInvalidDate: false }),
  fc
    .record({
      source: fc.constantFrom('a+b', '^x$', '[a-z]{2,}', '\\d+', '(?<n>y)'),
      flags: fc.constantFrom('', 'g', 'i', 'gimsu'),
    })
    .map(({ source, flags }) => new RegExp(source, flags)),
  fc.uint8Array({ maxLength: 32 }),
  fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  fc.float32Array({ maxLength: 8, noDefaultInfinity: false }).filter((a) => a.every((n) => !Object.is(n, -0))),
  fc.float64Array({ maxLength: 8 }).filter((a) => a.every((n) => !Object.is(n, -0))),
  fc.int32Array({ maxLength: 8 }),
  fc.bigInt64Array({ maxLength: 4 }),
  fc
    .constantFrom<new (message: string) => Error>(Error, TypeError, RangeError)
    .chain((E) => text().map((m) => new E(m))),
)

/** Any value the codec promises to round-trip, nested up to `depth` levels. */
export function roundTripValue(depth = 3): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: depth },
      leaf,
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(objectKey, tie('value'), { maxKeys: 5 }),
      fc.array(fc.tuple(fc.oneof(text(), fc.integer()), tie('value')), { maxLength: 4 }).map((pairs) => new Map(pairs)),
      fc.array(fc.oneof(text(), fc.integer(), fc.boolean()), { maxLength: 5 }).map((items) => new Set(items)),
    ),
  }))
  return value
}

/** A value that refers to itself: an object holding arrays and maps that point back at it. */
export const circularValue: fc.Arbitrary<unknown> = fc
  .record({ name: text(), items: fc.array(roundTripValue(1), { maxLength: 3 }) })
  .map(({ name, items }) => {
    const root: Record<string, unknown> = { name, items }
    root.self = root
    root.list = [root, items]
    root.map = new Map<string, unknown>([['back', root]])
    return root
  })

/** Plain data with the keys a prototype-pollution payload uses (`__proto__` as an own key, as JSON.parse makes it). */
export const hostileObject: fc.Arbitrary<Record<string, unknown>> = fc
  .record({ a: fc.integer(), payload: fc.dictionary(text(4), fc.integer(), { maxKeys: 3 }) })
  .map(({ a, payload }) => {
    const p = JSON.stringify(payload)
    return JSON.parse(
      `{"__proto__":{"polluted":1},"constructor":{"prototype":${p}},"prototype":${p},"a":${a}}`,
    ) as Record<string, unknown>
  })

/** Keys a user may pass: ordinary, odd (separators, glob characters, braces, unicode), and long. */
export const ODD_KEYS = [
  'a',
  'b',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'a:b::c',
  '{hash}tag',
  '*?[]\\',
  'ü€😀',
  ' ',
  'x'.repeat(1024),
  'é'.repeat(512),
  'nul\u0000inside',
] as const

export const TAGS = ['t1', 't2', 't3'] as const
