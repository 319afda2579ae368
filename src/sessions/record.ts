/**
 * A session as stored in Redis (see scripts.ts for the layout): reading a hash into fields and metadata, and
 * encoding a session object into fields, with the size `maxBytes` is checked against.
 */
import { L2CommandError, type Codec } from '../index.js'

/** Stored field names are the session's field names behind this prefix; metadata names have none. */
export const FIELD_PREFIX = '.'

export interface SessionMeta {
  createdAt: number
  lastActiveAt: number
  /** The earlier of the idle and absolute deadlines: the key's TTL ends here. */
  expiresAt: number
  absoluteExpiresAt: number
  userId: string | undefined
  ref: string | undefined
  /** Encoded size of the fields (names with their prefix, plus values). */
  bytes: number
  version: number
}

/** A live session: its metadata and its fields as stored (encoded), by field name. */
export interface StoredSession {
  meta: SessionMeta
  fields: Map<string, Buffer>
}

export type ReadResult =
  | { state: 'live'; session: StoredSession }
  /** No key at all: never existed, expired, or evicted. */
  | { state: 'absent' }
  /** Ended (a tombstone) or past a deadline. */
  | { state: 'ended' }
  | { state: 'garbage'; reason: string }

/** Pairs of an HGETALL reply, from ioredis' object form or a script's flat array. */
export function pairsOf(reply: Record<string, Buffer> | readonly Buffer[]): Array<[string, Buffer]> {
  if (!Array.isArray(reply)) return Object.entries(reply as Record<string, Buffer>)
  const flat = reply as readonly Buffer[]
  const pairs: Array<[string, Buffer]> = []
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([(flat[i] as Buffer).toString(), flat[i + 1] as Buffer])
  return pairs
}

/** Reads a session hash as of `now`. */
export function readSession(pairs: ReadonlyArray<[string, Buffer]>, now: number): ReadResult {
  if (pairs.length === 0) return { state: 'absent' }
  const fields = new Map<string, Buffer>()
  const raw = new Map<string, string>()
  for (const [name, value] of pairs) {
    if (name.startsWith(FIELD_PREFIX)) fields.set(name.slice(FIELD_PREFIX.length), value)
    else raw.set(name, value.toString())
  }
  if (raw.has('t')) return { state: 'ended' }
  const number = (name: string): number => Number(raw.get(name) ?? NaN)
  const meta: SessionMeta = {
    createdAt: number('c'),
    lastActiveAt: number('a'),
    expiresAt: number('e'),
    absoluteExpiresAt: number('x'),
    userId: raw.get('u') || undefined,
    ref: raw.get('r') || undefined,
    bytes: number('b'),
    version: number('v'),
  }
  for (const [name, value] of Object.entries(meta))
    if (typeof value === 'number' && !Number.isFinite(value)) return { state: 'garbage', reason: `metadata ${name}` }
  if (now >= meta.expiresAt || now >= meta.absoluteExpiresAt) return { state: 'ended' }
  return { state: 'live', session: { meta, fields } }
}

/** Decodes stored fields into a session object. @throws what the codec throws on garbage. */
export function decodeFields(codec: Codec, fields: ReadonlyMap<string, Buffer>): Record<string, unknown> {
  const data: Record<string, unknown> = {}
  for (const [name, bytes] of fields) setOwn(data, name, codec.decode(bytes))
  return data
}

/** Encodes one field value. @throws TypeError naming the field for a value the codec cannot carry. */
export function encodeField(codec: Codec, name: string, value: unknown): Buffer {
  let bytes: Uint8Array
  try {
    bytes = codec.encode(value)
  } catch (error) {
    throw new TypeError(`Cannot encode session field ${JSON.stringify(name)}: ${(error as Error).message}`, {
      cause: error,
    })
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** What a field costs against `maxBytes`: its stored name and its encoded value. */
export function fieldBytes(name: string, value: Buffer): number {
  return Buffer.byteLength(name) + FIELD_PREFIX.length + value.length
}

/** The stored name of a field. */
export function storedName(name: string): string {
  return FIELD_PREFIX + name
}

/** `target[name] = value` as an own property, even for `__proto__` (no prototype pollution from stored names). */
export function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
  else target[name] = value
}

/** Encodes every field of a session object (fields holding `undefined` are left out, as JSON does). */
export function encodeData(codec: Codec, data: object): { fields: Map<string, Buffer>; bytes: number } {
  const fields = new Map<string, Buffer>()
  let bytes = 0
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined) continue
    const encoded = encodeField(codec, name, value)
    fields.set(name, encoded)
    bytes += fieldBytes(name, encoded)
  }
  return { fields, bytes }
}

/** True when Redis refused a command because the key holds another type (`WRONGTYPE`): not one of our sessions. */
export function isWrongType(error: unknown): boolean {
  return error instanceof L2CommandError && error.cause instanceof Error && error.cause.message.startsWith('WRONGTYPE')
}
