/**
 * The channels of the sharded bus (`bus: { sharded: true }`, Redis 7 Cluster; ARCHITECTURE.md "Sharded bus"):
 * one shard channel per hash slot, `<prefix>:sbus:{<tag>}`, where `<tag>` is the shortest base-36 number whose
 * CRC16 falls in that slot (found once, ~13 ms, tags of at most 4 characters). A write announces itself on the
 * channel of its own key's slot, with SPUBLISH inside its Lua call: the channel is then always served by the
 * node that runs the call, through resharding too (a slot and its channel move together). Every node
 * subscribes to all 16,384 channels, each on the master that owns it.
 *
 * A shard channel no longer names the namespace, so the message carries it in front:
 * `varint byte length, UTF-8 namespace, then the message` (message.ts).
 * @internal
 */
import calculateSlot from 'cluster-key-slot'
import { MessageError, readVarint, varintSize, writeVarint } from './message.js'

export const SLOTS = 16384

let tags: string[] | undefined

/** The hash tag of each slot (index: slot). */
function slotTags(): string[] {
  if (tags !== undefined) return tags
  const table = new Array<string>(SLOTS)
  for (let i = 0, left = SLOTS; left > 0; i++) {
    const tag = i.toString(36)
    const slot = calculateSlot(tag)
    if (table[slot] === undefined) {
      table[slot] = tag
      left--
    }
  }
  return (tags = table)
}

/** The shard channel of a hash slot. */
export function shardChannel(prefix: string, slot: number): string {
  return `${prefix}:sbus:{${slotTags()[slot]}}`
}

/** The shard channel of the slot `key` hashes to (hash tags honoured, as Redis does). */
export function shardChannelOfKey(prefix: string, key: string): string {
  return shardChannel(prefix, calculateSlot(key))
}

/** `namespace` in front of a message: what travels on a shard channel. */
export function wrapNamespace(namespace: string, message: Buffer): Buffer {
  const name = Buffer.from(namespace, 'utf8')
  const out = Buffer.allocUnsafe(varintSize(name.length) + name.length + message.length)
  const offset = writeVarint(out, 0, name.length)
  name.copy(out, offset)
  message.copy(out, offset + name.length)
  return out
}

/** Splits what {@link wrapNamespace} built. Throws {@link MessageError} when it is not well formed. */
export function unwrapNamespace(raw: Buffer): { namespace: string; message: Buffer } {
  const [length, offset] = readVarint(raw, 0)
  if (offset + length > raw.length) throw new MessageError('truncated namespace')
  return { namespace: raw.toString('utf8', offset, offset + length), message: raw.subarray(offset + length) }
}

/**
 * Marks the channel of an announcement to SPUBLISH (a shard channel) rather than PUBLISH: the write's Lua call
 * tests its first byte (redis_scripts.ts, ANNOUNCE), and {@link publishAnnouncement} drops it.
 */
export const SHARDED_MARK = '\u0000'

/** Sends an announcement on its own (outside a write's Lua call): PUBLISH, or SPUBLISH when marked sharded. */
export function publishAnnouncement(
  client: {
    publish(channel: string, bytes: Buffer): Promise<unknown>
    spublish(channel: string, bytes: Buffer): Promise<unknown>
  },
  channel: string,
  bytes: Buffer,
): Promise<unknown> {
  return channel.startsWith(SHARDED_MARK) ? client.spublish(channel.slice(1), bytes) : client.publish(channel, bytes)
}
