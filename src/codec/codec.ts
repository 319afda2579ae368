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
      throw new TypeError('Cannot encode a function: functions do not survive a round trip through Redis')
    },
  })
  return {
    name: 'msgpack',
    encode(value) {
      try {
        return packr.pack(value)
      } catch (error) {
        if (error instanceof TypeError) throw error
        // msgpackr throws a plain Error for symbols and other unknown types: that is misuse.
        throw new TypeError(`Cannot encode ${describe(value)}: ${(error as Error).message}`, { cause: error })
      }
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
  return {
    name: 'json',
    encode(value) {
      const text = JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`Cannot encode ${describe(v)} as JSON`)
        return v
      })
      return Buffer.from(text, 'utf8')
    },
    decode(bytes) {
      return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown
    },
  }
}

export function isCodec(value: unknown): value is Codec {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Codec).encode === 'function' &&
    typeof (value as Codec).decode === 'function'
  )
}
