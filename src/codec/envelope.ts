/**
 * The bytes tiercache stores in Redis under each key:
 *
 * ```
 * 0      'T' 'C'           magic
 * 2      version (1)
 * 3      flags             bit 0: a tag section follows the header
 *                          bit 1: createdAt follows the header (always set with bit 0)
 * 4      expiresAt         float64 BE, ms since the epoch; 0 = no logical expiry
 * 12     [createdAt]       float64 BE, ms since the epoch: when the value was made (tag checks)
 * …      [tags]            uint16 BE byte length, then the tags joined by NUL, UTF-8
 * …      payload           the codec's bytes
 * ```
 *
 * `expiresAt` is the logical expiry: the Redis TTL may run longer (grace), but past
 * `expiresAt` the entry is stale. Counters (`incr`) are plain Redis integers, not envelopes;
 * they decode as numbers. Anything else under one of our keys is garbage: a `DecodeError`.
 */
import { stamp } from '../internal/clock.js'
import type { Codec } from './codec.js'

const MAGIC_0 = 0x54 // 'T'
const MAGIC_1 = 0x43 // 'C'
const VERSION = 1
const FLAG_TAGS = 1
const FLAG_CREATED = 2
export const HEADER_BYTES = 12
const TAG_SEPARATOR = '\u0000'
const COUNTER = /^-?\d{1,20}$/

/**
 * Prototypes a decoded value may have at the top. Anything else means the payload was forged or
 * written by a different encoder (msgpackr itself never pollutes Object.prototype: it renames
 * `__proto__` keys), and the value is treated as garbage rather than handed to the caller.
 */
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object
const KNOWN_PROTOTYPES = new Set<unknown>([
  null,
  Object.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  Buffer.prototype,
  ...[Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((E) => E.prototype),
  ...[Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array, DataView, ArrayBuffer].map((T) => T.prototype),
])

function plausible(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  const proto: unknown = Object.getPrototypeOf(value)
  return KNOWN_PROTOTYPES.has(proto) || (typeof proto === 'object' && proto !== null && Object.getPrototypeOf(proto) === TYPED_ARRAY_PROTOTYPE)
}

/** An entry as decoded from Redis. */
export interface StoredEntry {
  value: unknown
  /** Logical expiry (ms since the epoch), 0 for none. */
  expiresAt: number
  tags: readonly string[] | undefined
  /** When the value was made (ms since the epoch); only stored for tagged entries. */
  createdAt?: number
  /** True for a plain Redis integer written by `incr`/`decr`. */
  counter: boolean
}

export class EnvelopeError extends Error {}

export function encodeEntry(
  codec: Codec,
  value: unknown,
  expiresAt: number,
  tags: readonly string[] | undefined,
  createdAt?: number,
): Buffer {
  const payload = codec.encode(value)
  const tagBytes = tags !== undefined && tags.length > 0 ? Buffer.from(tags.join(TAG_SEPARATOR), 'utf8') : undefined
  if (tagBytes !== undefined && tagBytes.length > 0xffff) throw new TypeError('Expected `tags` to fit in 65535 bytes')
  const tagSection = tagBytes === undefined ? 0 : 8 + 2 + tagBytes.length
  const out = Buffer.allocUnsafe(HEADER_BYTES + tagSection + payload.length)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = VERSION
  out[3] = tagBytes === undefined ? 0 : FLAG_TAGS | FLAG_CREATED
  out.writeDoubleBE(expiresAt, 4)
  let offset = HEADER_BYTES
  if (tagBytes !== undefined) {
    out.writeDoubleBE(createdAt ?? stamp(), offset)
    out.writeUInt16BE(tagBytes.length, offset + 8)
    tagBytes.copy(out, offset + 10)
    offset += tagSection
  }
  out.set(payload, offset) // copies: msgpackr reuses its output buffer
  return out
}

/** Decodes bytes read from Redis. Throws {@link EnvelopeError} (with `cause`) for garbage. */
export function decodeEntry(codec: Codec, raw: Buffer): StoredEntry {
  if (raw.length >= HEADER_BYTES && raw[0] === MAGIC_0 && raw[1] === MAGIC_1) {
    if (raw[2] !== VERSION) throw new EnvelopeError(`unknown envelope version ${raw[2]}`)
    const flags = raw[3] as number
    const expiresAt = raw.readDoubleBE(4)
    if (!(expiresAt >= 0)) throw new EnvelopeError('bad expiry in header')
    let offset = HEADER_BYTES
    let tags: string[] | undefined
    let createdAt: number | undefined
    if ((flags & FLAG_CREATED) !== 0) {
      if (raw.length < offset + 8) throw new EnvelopeError('truncated createdAt')
      createdAt = raw.readDoubleBE(offset)
      offset += 8
    }
    if ((flags & FLAG_TAGS) !== 0) {
      if (raw.length < offset + 2) throw new EnvelopeError('truncated tag section')
      const length = raw.readUInt16BE(offset)
      if (raw.length < offset + 2 + length) throw new EnvelopeError('truncated tag section')
      tags = raw.toString('utf8', offset + 2, offset + 2 + length).split(TAG_SEPARATOR)
      offset += 2 + length
    }
    if (offset === raw.length) throw new EnvelopeError('empty payload')
    let value: unknown
    try {
      value = codec.decode(raw.subarray(offset))
    } catch (error) {
      throw new EnvelopeError(`${codec.name} payload does not decode: ${(error as Error).message}`, { cause: error })
    }
    if (value === undefined) throw new EnvelopeError('payload decodes to undefined')
    if (!plausible(value)) throw new EnvelopeError('payload decodes to an object of an unknown kind')
    return createdAt === undefined ? { value, expiresAt, tags, counter: false } : { value, expiresAt, tags, createdAt, counter: false }
  }
  if (raw.length > 0 && raw.length <= 21) {
    const text = raw.toString('latin1')
    if (COUNTER.test(text)) return { value: Number(text), expiresAt: 0, tags: undefined, counter: true }
  }
  throw new EnvelopeError(raw.length === 0 ? 'empty value' : 'not a tiercache envelope')
}

/** True when `raw` is an envelope carrying tags and createdAt: the entries a tag check applies to. Cheap (one byte). */
export function carriesTags(raw: Buffer | null): raw is Buffer {
  return raw !== null && raw.length >= HEADER_BYTES && raw[0] === MAGIC_0 && ((raw[3] as number) & (FLAG_TAGS | FLAG_CREATED)) === (FLAG_TAGS | FLAG_CREATED)
}

/** Reads createdAt and the tags of an envelope without decoding its payload; undefined when it has none (or is garbage). */
export function peekTags(raw: Buffer): { createdAt: number; tags: string[] } | undefined {
  if (!carriesTags(raw) || raw[2] !== VERSION || raw.length < HEADER_BYTES + 10) return undefined
  const createdAt = raw.readDoubleBE(HEADER_BYTES)
  const length = raw.readUInt16BE(HEADER_BYTES + 8)
  const start = HEADER_BYTES + 10
  if (raw.length < start + length || !(createdAt >= 0)) return undefined
  return { createdAt, tags: raw.toString('utf8', start, start + length).split(TAG_SEPARATOR) }
}
