/**
 * The shapes RedisTier's callers and its coalescing queues exchange: what a write carries, its bus announcement,
 * the lease a `getOrSet` read takes, and the tag keys a tagged write makes sure exist.
 * @internal
 */

export interface WriteItem {
  key: string
  bytes: Buffer
  /** Redis TTL in ms; 0 for none. */
  px: number
}

export interface PendingRead {
  key: string
  resolve: (value: Buffer | null) => void
  reject: (error: unknown) => void
}

/**
 * A bus message to send in the same round trip as a write: `PUBLISH channel bytes`, or SPUBLISH when the channel
 * starts with a NUL byte (a sharded bus: bus/shard_channels.ts).
 */
export interface Announcement {
  channel: string
  bytes: Buffer
}

/** Builds the announcement of a write of these full keys (one namespace), or undefined without a bus. */
export type Announce = ((keys: readonly string[]) => Announcement) | undefined

/** What a `getOrSet` asks of the lease it takes with its read. */
export interface LeaseRequest {
  /** How long the lease lives when nothing writes the key (ms). */
  ttl: number
  /** `lock: true`: the caller that takes the lease runs the factory; the others wait for it. */
  lock: boolean
  /** An entry this close to its expiry (ms) already needs a fill (refresh ahead); 0 otherwise. */
  refreshWindow: number
}

/** A lease on an entry: its fill is written only while no write, delete or clear of the entry happened since. */
export interface Lease {
  /** The lease's Redis key. */
  readonly key: string
  readonly token: string
  /** True when this call took the lease (with `lock`: this caller holds the lock). */
  readonly mine: boolean
}

/** Tag keys a write must make sure exist, and the value they get when they do not (just before the entry was made). */
export interface TagKeys {
  keys: readonly string[]
  createdBefore: number
}

export interface PendingLeaseRead {
  key: string
  lease: string
  token: string
  request: LeaseRequest
  resolve: (value: { raw: Buffer | null; lease: Lease | undefined }) => void
  reject: (error: unknown) => void
}
