/**
 * Where the cache workload's data sits in Redis (ARCHITECTURE.md, "Redis keys"), for the faults that write behind
 * the caches' backs and for the evidence printed with a stale read.
 */
import { NAMESPACE } from './node.js'

export const entryKey = (key: string): string => `tc:${NAMESPACE}::${key}`
export const tagKey = (tag: string): string => `{tc:${NAMESPACE}}:tag:${tag}`

/**
 * One line about what a Redis value is: missing, an envelope (its version, creation time and expiry, from the
 * header as codec/envelope.ts lays it out), a time (a tag key), or so many bytes of something else.
 */
export function describeStored(key: string, raw: Buffer | null): string {
  if (raw === null) return `${key} missing`
  if (raw.length >= 12 && raw[0] === 0x54 && raw[1] === 0x43) {
    const version = raw[2] as number
    const flags = raw[3] as number
    const createdAtOffset = version === 1 ? 12 : 16
    const created =
      (flags & 2) !== 0 && raw.length >= createdAtOffset + 8 ? raw.readDoubleBE(createdAtOffset) : undefined
    return `${key} envelope v${version} created ${created?.toFixed(3) ?? '-'} expires ${raw.readDoubleBE(4).toFixed(0)}`
  }
  const text = raw.toString('latin1')
  return /^[\d.-]{1,32}$/.test(text) ? `${key} = ${text}` : `${key} holds ${raw.length} other bytes`
}
