/**
 * Properties of the envelope (src/codec/envelope.ts), the bytes stored under each key: what tiercache wrote
 * decodes to what it wrote; anything else (a truncation, a changed byte, a valid header followed by bytes that
 * are not ours, random bytes) is an EnvelopeError, never a value (issue 10 #5). Counters (plain integers) are
 * the one foreign format that decodes, as numbers.
 */
import fc from 'fast-check'
import { pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { msgpackCodec } from '../../src/index.js'
import { decodeEntry, encodeEntry, EnvelopeError, HEADER_BYTES } from '../../src/codec/envelope.js'
import { roundTripValue, TAGS, text } from './arbitraries.js'

const codec = msgpackCodec()
const RUNS = { numRuns: 300, interruptAfterTimeLimit: 4000 }

/** The logical expiry (bytes 4-11) is rewritten in place by expire(), so it is outside the checksum. */
const EXPIRY_BYTES = { from: 4, to: 12 }

const entry = fc.record({
  value: roundTripValue(2).filter((v) => v !== undefined),
  expiresAt: fc.oneof(fc.constant(0), fc.double({ min: 1, max: 1e15, noNaN: true })),
  tags: fc.option(
    fc.uniqueArray(
      fc.oneof(
        fc.constantFrom(...TAGS),
        text(8).filter((t) => t.length > 0 && !t.includes('\u0000')),
      ),
      { minLength: 1, maxLength: 5 },
    ),
    { nil: undefined },
  ),
  createdAt: fc.double({ min: 1, max: 1e15, noNaN: true }),
})

const encode = (e: { value: unknown; expiresAt: number; tags: string[] | undefined; createdAt: number }): Buffer =>
  encodeEntry(codec, e.value, e.expiresAt, e.tags, e.createdAt)

/** What foreign msgpack maps may decode to: plain data. */
const PLAIN: unknown[] = [Object.prototype, Map.prototype, null]

/** Decodes, answering 'garbage' for an EnvelopeError; anything else thrown fails the property. */
function decodeOrGarbage(raw: Buffer): ReturnType<typeof decodeEntry> | 'garbage' {
  try {
    return decodeEntry(codec, raw)
  } catch (error) {
    if (error instanceof EnvelopeError) return 'garbage'
    throw error
  }
}

describe('envelope properties', () => {
  it('decodes what it encoded: value, expiry, tags and creation time', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const decoded = decodeEntry(codec, encode(e))
        expect(decoded.value).toEqual(e.value)
        expect(decoded.expiresAt).toBe(e.expiresAt)
        expect(decoded.tags).toEqual(e.tags)
        if (e.tags !== undefined) expect(decoded.createdAt).toBe(e.createdAt)
        expect(decoded.counter).toBe(false)
      }),
      RUNS,
    )
  })

  it('a truncated envelope is garbage, at any length', () => {
    fc.assert(
      fc.property(entry, fc.nat(), (e, cut) => {
        const raw = encode(e)
        expect(decodeOrGarbage(raw.subarray(0, cut % raw.length))).toBe('garbage')
      }),
      RUNS,
    )
  })

  it('any changed byte outside the expiry makes it garbage', () => {
    fc.assert(
      fc.property(entry, fc.nat(), fc.integer({ min: 1, max: 255 }), (e, at, xor) => {
        const raw = Buffer.from(encode(e))
        const i = at % raw.length
        fc.pre(i < EXPIRY_BYTES.from || i >= EXPIRY_BYTES.to)
        raw[i] = (raw[i] as number) ^ xor
        expect(decodeOrGarbage(raw)).toBe('garbage')
      }),
      RUNS,
    )
  })

  it('a valid header followed by bytes that are not ours is garbage (random, or a foreign msgpack map)', () => {
    const foreign = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)),
      fc
        .dictionary(text(6), fc.integer())
        .map((o) => pack(JSON.parse(`{"__proto__":{"x":1},${JSON.stringify(o).slice(1)}`.replace(',}', '}')))),
      fc.integer().map((n) => pack(n)),
    )
    fc.assert(
      fc.property(entry, foreign, (e, tail) => {
        const raw = encode(e)
        // A tail equal to the entry's own payload is not foreign (an empty array's payload is the byte 0x90).
        fc.pre(!Buffer.from(raw.subarray(HEADER_BYTES)).equals(tail))
        expect(decodeOrGarbage(Buffer.concat([raw.subarray(0, HEADER_BYTES), tail]))).toBe('garbage')
      }),
      RUNS,
    )
  })

  it('random bytes are garbage or a counter (a plain integer), and decoding them never throws anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const decoded = decodeOrGarbage(Buffer.from(bytes))
        if (decoded !== 'garbage') {
          expect(decoded.counter).toBe(true)
          expect(Number.isSafeInteger(decoded.value) || typeof decoded.value === 'number').toBe(true)
        }
      }),
      RUNS,
    )
  })

  it('a forged envelope (valid checksum) whose payload tries __proto__ decodes as data, never as a prototype', () => {
    const raw = (payload: Buffer): Buffer =>
      encodeEntry({ name: 'raw', encode: () => payload, decode: codec.decode }, null, 0, undefined)
    fc.assert(
      fc.property(fc.dictionary(text(6), fc.integer(), { maxKeys: 3 }), (o) => {
        const evil = pack(
          JSON.parse(`{"__proto__":{"polluted":1},"constructor":{"prototype":{"p":1}},"o":${JSON.stringify(o)}}`),
        )
        const decoded = decodeOrGarbage(raw(evil))
        // (Compared by hand: printing Map.prototype in a failure message would throw.)
        if (decoded !== 'garbage') expect(PLAIN.includes(Object.getPrototypeOf(decoded.value))).toBe(true)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: 100 },
    )
  })
})
