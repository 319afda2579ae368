/**
 * Where an entry's lease lives. A lease is read and written in the same Lua call as its entry, so on
 * a Redis Cluster it must hash to the entry's slot. An entry key is the caller's key behind a prefix
 * and may contain braces of its own, so no suffix or wrapper of it is guaranteed to keep its slot;
 * instead the lease key starts with a hash tag chosen for that slot: a short string whose CRC16
 * lands on it (one per slot, found once by trying base-36 numbers, about 160,000 CRCs).
 * Standalone Redis has no slots: the lease key is just `<prefix>!lease:<entry key>`.
 * '!' cannot appear in a namespace, so no entry key of a prefix collides with a lease key.
 * @internal
 */
import calculateSlot from 'cluster-key-slot'

const SLOTS = 16384
let tagsBySlot: string[] | undefined

/** A hash tag (without braces) whose keys hash to `slot`. */
export function slotTag(slot: number): string {
  if (tagsBySlot === undefined) {
    const found = new Array<string>(SLOTS)
    let missing = SLOTS
    for (let i = 0; missing > 0; i++) {
      const candidate = i.toString(36)
      const at = calculateSlot(candidate)
      if (found[at] === undefined) {
        found[at] = candidate
        missing--
      }
    }
    tagsBySlot = found
  }
  return tagsBySlot[slot] as string
}

export function leaseKeyOf(prefix: string, k: string, cluster: boolean): string {
  return cluster ? `{${slotTag(calculateSlot(k))}}${prefix}!lease:${k}` : `${prefix}!lease:${k}`
}

/** A SCAN pattern matching the lease keys of every entry whose key starts with `entryPrefix` (glob-escaped). */
export function leasePatternOf(prefix: string, escapedEntryPrefix: string, cluster: boolean): string {
  const escapedPrefix = prefix.replace(/[*?[\]\\]/g, '\\$&')
  return `${cluster ? '{*}' : ''}${escapedPrefix}!lease:${escapedEntryPrefix}*`
}

/** The channel lock releases of a prefix are published on. */
export function lockChannelOf(prefix: string): string {
  return `${prefix}!lock`
}
