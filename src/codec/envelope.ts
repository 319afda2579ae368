/**
 * The bytes tiercache stores in Redis under each key:
 *
 * ```
 * 0      'T' 'C'           magic
 * 2      version (2)
 * 3      flags             bit 0: a tag section follows the header
 *                          bit 1: createdAt follows the header (always set with bit 0)
 * 4      expiresAt         float64 BE, ms since the epoch; 0 = no logical expiry
 * 12     checksum          uint32 BE: CRC-32 of the flags byte and of every byte from 16 on
 * 16     [createdAt]       float64 BE, ms since the epoch: when the value was made (tag checks)
 * …      [tags]            uint16 BE byte length, then the tags joined by NUL, UTF-8
 * …      payload           the codec's bytes
 * ```
 *
 * `expiresAt` is the logical expiry: the Redis TTL may run longer (grace), but past
 * `expiresAt` the entry is stale. It is left out of the checksum because `expire()` rewrites it
 * in place (a Lua script). The checksum makes bytes that are not ours a miss even when they start
 * with a valid header, and it is the entry's version stamp: after a bus outage a node compares
 * its L1 entries' checksums and expiries with Redis's headers (revalidation) instead of dropping
 * them all. Counters (`incr`) are plain Redis integers, not envelopes; they decode as numbers.
 * Anything else under one of our keys (version 1 envelopes included) is garbage: a `DecodeError`.
 */
import { crc32 } from 'node:zlib'
import { stamp } from '../internal/clock.js'
import type { Codec } from './codec.js'

const MAGIC_0 = 0x54 // 'T'
const MAGIC_1 = 0x43 // 'C'
const VERSION = 2
const FLAG_TAGS = 1
const FLAG_CREATED = 2
const FLAGS_AT = 3
const EXPIRES_AT = 4
const CHECKSUM_AT = 12
export const HEADER_BYTES = 16
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
  ...[
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    DataView,
    ArrayBuffer,
  ].map((T) => T.prototype),
])

function plausible(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true
  const proto: unknown = Object.getPrototypeOf(value)
  return (
    KNOWN_PROTOTYPES.has(proto) ||
    (typeof proto === 'object' && proto !== null && Object.getPrototypeOf(proto) === TYPED_ARRAY_PROTOTYPE)
  )
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
  /** The envelope's checksum (its version stamp); 0 for a counter. */
  checksum: number
}

export class EnvelopeError extends Error {}

/** The checksum of an envelope: CRC-32 of its flags byte and of everything after the header's checksum field. */
function checksumOf(raw: Buffer): number {
  return crc32(raw.subarray(HEADER_BYTES), crc32(raw.subarray(FLAGS_AT, FLAGS_AT + 1)))
}

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
  out[FLAGS_AT] = tagBytes === undefined ? 0 : FLAG_TAGS | FLAG_CREATED
  out.writeDoubleBE(expiresAt, EXPIRES_AT)
  let offset = HEADER_BYTES
  if (tagBytes !== undefined) {
    out.writeDoubleBE(createdAt ?? stamp(), offset)
    out.writeUInt16BE(tagBytes.length, offset + 8)
    tagBytes.copy(out, offset + 10)
    offset += tagSection
  }
  out.set(payload, offset) // copies: msgpackr reuses its output buffer
  out.writeUInt32BE(checksumOf(out), CHECKSUM_AT)
  return out
}

/** The checksum stored in an envelope made by {@link encodeEntry}. */
export function storedChecksum(raw: Buffer): number {
  return raw.readUInt32BE(CHECKSUM_AT)
}

/**
 * What revalidation compares: the logical expiry and checksum in an envelope's header (its first
 * {@link HEADER_BYTES} bytes are enough). Undefined when the bytes are not a version-2 header.
 */
export function readHeader(head: Buffer): { expiresAt: number; checksum: number } | undefined {
  if (head.length < HEADER_BYTES || head[0] !== MAGIC_0 || head[1] !== MAGIC_1 || head[2] !== VERSION) return undefined
  return { expiresAt: head.readDoubleBE(EXPIRES_AT), checksum: head.readUInt32BE(CHECKSUM_AT) }
}

/** Decodes bytes read from Redis. Throws {@link EnvelopeError} (with `cause`) for garbage. */
export function decodeEntry(codec: Codec, raw: Buffer): StoredEntry {
  if (raw.length >= HEADER_BYTES && raw[0] === MAGIC_0 && raw[1] === MAGIC_1) {
    if (raw[2] !== VERSION) throw new EnvelopeError(`unknown envelope version ${raw[2]}`)
    const checksum = raw.readUInt32BE(CHECKSUM_AT)
    if (checksumOf(raw) !== checksum)
      throw new EnvelopeError('checksum mismatch: the bytes were not written by tiercache')
    const flags = raw[FLAGS_AT] as number
    const expiresAt = raw.readDoubleBE(EXPIRES_AT)
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
    return createdAt === undefined
      ? { value, expiresAt, tags, counter: false, checksum }
      : { value, expiresAt, tags, createdAt, counter: false, checksum }
  }
  if (raw.length > 0 && raw.length <= 21) {
    const text = raw.toString('latin1')
    if (COUNTER.test(text)) return { value: Number(text), expiresAt: 0, tags: undefined, counter: true, checksum: 0 }
  }
  throw new EnvelopeError(raw.length === 0 ? 'empty value' : 'not a tiercache envelope')
}

/** True when `raw` is an envelope carrying tags and createdAt: the entries a tag check applies to. Cheap (one byte). */
export function carriesTags(raw: Buffer | null): raw is Buffer {
  return (
    raw !== null &&
    raw.length >= HEADER_BYTES &&
    raw[0] === MAGIC_0 &&
    ((raw[FLAGS_AT] as number) & (FLAG_TAGS | FLAG_CREATED)) === (FLAG_TAGS | FLAG_CREATED)
  )
}

/**
 * Reads createdAt and the tags of an envelope without decoding its payload; undefined when it has none (or is
 * garbage).
 */
export function peekTags(raw: Buffer): { createdAt: number; tags: string[] } | undefined {
  if (!carriesTags(raw) || raw[2] !== VERSION || raw.length < HEADER_BYTES + 10) return undefined
  const createdAt = raw.readDoubleBE(HEADER_BYTES)
  const length = raw.readUInt16BE(HEADER_BYTES + 8)
  const start = HEADER_BYTES + 10
  if (raw.length < start + length || !(createdAt >= 0)) return undefined
  return { createdAt, tags: raw.toString('utf8', start, start + length).split(TAG_SEPARATOR) }
}
