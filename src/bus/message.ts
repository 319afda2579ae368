/**
 * The bytes of one bus message, published on the channel of one namespace
 * (`<prefix>:bus:<namespace>`). Messages carry keys and tags, never values:
 *
 * ```
 * 0      'T' 'B'        magic
 * 2      version (1)
 * 3      kind           1: keys changed, 2: namespace cleared, 3: tags invalidated
 * 4      origin         8 random bytes naming the node that sent it (a node ignores its own)
 * 12     count          varint, then `count` × (varint byte length, UTF-8 string)
 * ```
 *
 * Keys are the caller's keys (the namespace is the channel's), so a message for one short key
 * is about 20 bytes. Building the bytes is separate from sending them, so that a write can put
 * its SET and its PUBLISH in one pipeline.
 * @internal
 */
import { randomBytes } from 'node:crypto'

const MAGIC_0 = 0x54 // 'T'
const MAGIC_1 = 0x42 // 'B'
const VERSION = 1
export const ORIGIN_BYTES = 8
const HEADER_BYTES = 4 + ORIGIN_BYTES

export type MessageKind = 'keys' | 'clear' | 'tags'
const KIND_CODES: Record<MessageKind, number> = { keys: 1, clear: 2, tags: 3 }
const KINDS: ReadonlyArray<MessageKind | undefined> = [undefined, 'keys', 'clear', 'tags']

export interface BusMessage {
  kind: MessageKind
  origin: Buffer
  /** Caller keys (kind 'keys') or tags (kind 'tags'); empty for 'clear'. */
  items: string[]
}

/** A fresh origin id for one node (one cache context). */
export function newOrigin(): Buffer {
  return randomBytes(ORIGIN_BYTES)
}

/** The channel of a namespace. */
export function channelOf(prefix: string, namespace: string): string {
  return `${prefix}:bus:${namespace}`
}

/** The namespace of a namespace key prefix (`<prefix>:<namespace>::`). Throws a TypeError for anything else. */
export function namespaceOf(prefix: string, namespacePrefix: string): string {
  const start = prefix.length + 1
  if (!namespacePrefix.endsWith('::') || namespacePrefix.length <= start + 2)
    throw new TypeError(`Expected a namespace key prefix, got '${namespacePrefix}'`)
  return namespacePrefix.slice(start, -2)
}

/** Full Redis keys under `prefix` grouped by namespace: namespace → caller keys. Other keys are skipped. */
export function byNamespace(prefix: string, keys: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const start = prefix.length + 1
  for (const key of keys) {
    const end = key.indexOf('::', start)
    if (end < 0 || !key.startsWith(prefix)) continue
    const namespace = key.slice(start, end)
    const items = out.get(namespace)
    if (items === undefined) out.set(namespace, [key.slice(end + 2)])
    else items.push(key.slice(end + 2))
  }
  return out
}

/** The pattern that covers every namespace's channel under `prefix` (glob characters in `prefix` escaped). */
export function channelPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:bus:*`
}

export function encodeMessage(kind: MessageKind, origin: Buffer, items: readonly string[]): Buffer {
  const encoded = items.map((item) => Buffer.from(item, 'utf8'))
  let size = HEADER_BYTES + varintSize(items.length)
  for (const bytes of encoded) size += varintSize(bytes.length) + bytes.length
  const out = Buffer.allocUnsafe(size)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = VERSION
  out[3] = KIND_CODES[kind]
  origin.copy(out, 4, 0, ORIGIN_BYTES)
  let offset = writeVarint(out, HEADER_BYTES, items.length)
  for (const bytes of encoded) {
    offset = writeVarint(out, offset, bytes.length)
    bytes.copy(out, offset)
    offset += bytes.length
  }
  return out
}

export class MessageError extends Error {}

/** Decodes a message. Throws {@link MessageError} for anything that is not a well-formed message of ours. */
export function decodeMessage(raw: Buffer): BusMessage {
  if (raw.length < HEADER_BYTES + 1 || raw[0] !== MAGIC_0 || raw[1] !== MAGIC_1)
    throw new MessageError('not a tiercache bus message')
  if (raw[2] !== VERSION) throw new MessageError(`unknown bus message version ${raw[2]}`)
  const kind = KINDS[raw[3] as number]
  if (kind === undefined) throw new MessageError(`unknown bus message kind ${raw[3]}`)
  const origin = raw.subarray(4, HEADER_BYTES)
  const [count, start] = readVarint(raw, HEADER_BYTES)
  let offset = start
  // Every item takes at least one byte: a count beyond that is a lie, not a reason to allocate.
  if (count > raw.length - offset) throw new MessageError('item count larger than the message')
  const items = new Array<string>(count)
  for (let i = 0; i < count; i++) {
    let length: number
    ;[length, offset] = readVarint(raw, offset)
    if (offset + length > raw.length) throw new MessageError('truncated item')
    items[i] = raw.toString('utf8', offset, offset + length)
    offset += length
  }
  if (offset !== raw.length) throw new MessageError('trailing bytes')
  if (kind !== 'clear' && items.some((item) => item.length === 0)) throw new MessageError('empty item')
  return { kind, origin, items }
}

/**
 * True when `raw` is a message of ours sent by the node with this origin, looked up in place (no decoding). Redis
 * delivers every PUBLISH to every subscriber, the publisher's own connection included (pub/sub has no NOLOOP: that
 * option belongs to CLIENT TRACKING), so a node receives each of its own writes back; this drops them at the cost
 * of a byte comparison instead of a decode.
 */
export function fromOrigin(raw: Buffer, origin: Buffer): boolean {
  return (
    raw.length > HEADER_BYTES &&
    raw[0] === MAGIC_0 &&
    raw[1] === MAGIC_1 &&
    raw.compare(origin, 0, ORIGIN_BYTES, 4, HEADER_BYTES) === 0
  )
}

export function varintSize(value: number): number {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    size++
  }
  return size
}

export function writeVarint(out: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    out[offset++] = (value & 0x7f) | 0x80
    value = Math.floor(value / 0x80)
  }
  out[offset++] = value
  return offset
}

export function readVarint(raw: Buffer, offset: number): [number, number] {
  let value = 0
  let scale = 1
  for (let i = 0; i < 5; i++) {
    if (offset >= raw.length) throw new MessageError('truncated varint')
    const byte = raw[offset++] as number
    value += (byte & 0x7f) * scale
    if ((byte & 0x80) === 0) return [value, offset]
    scale *= 0x80
  }
  throw new MessageError('varint too long')
}
