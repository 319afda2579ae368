/**
 * L2: the cache's view of Redis, on a {@link RedisConnection} (timeouts, circuit breaker, coded
 * errors). Reads arriving in the same tick are coalesced (coalesced_reads.ts: MGETs, one per hash slot on a
 * Cluster), and so are the lease-taking reads of `getOrSet`. Every write, delete and increment is
 * one Lua call that also drops the entry's lease and carries the bus announcement (redis_scripts.ts).
 * @internal
 */
import { randomBytes } from 'node:crypto'
import calculateSlot from 'cluster-key-slot'
import { publishAnnouncement } from '../bus/shard_channels.js'
import { NotACounterError, L2CommandError, L2NotReplicatedError } from '../errors.js'
import { isReplyError, type RedisConnection, type RedisClient, type Script } from '../redis/connection.js'
import type { CircuitState } from '../redis/circuit_breaker.js'
import { unlock } from '../locks/redis_lock.js'
import { CoalescedReads } from './coalesced_reads.js'
import { leaseKeyOf, lockChannelOf } from './lease_keys.js'
import {
  DELETE,
  ENSURE_TAGS,
  EXPIRE,
  FILL,
  HEADERS,
  INCR,
  INVALIDATE_TAGS,
  READ_WITH_LEASES,
  TAKE_LEASE,
  WRITE,
} from './redis_scripts.js'
import type {
  Announce,
  Announcement,
  Lease,
  LeaseRequest,
  PendingLeaseRead,
  TagKeys,
  WriteItem,
} from './redis_tier_types.js'

export type { RedisClient }

/** MGET is split into chunks of this many keys so that one reply never grows without bound. */
const MAX_KEYS_PER_COMMAND = 500

export type { Announce, Announcement, Lease, LeaseRequest, TagKeys, WriteItem } from './redis_tier_types.js'

const NO_ANNOUNCEMENT: Announcement = { channel: '', bytes: Buffer.alloc(0) }

export class RedisTier {
  readonly connection: RedisConnection
  readonly #prefix: string
  readonly #lockChannel: string
  /** Names this process in lease tokens; a counter makes each token unique. */
  readonly #origin = randomBytes(6).toString('base64url')
  #tokens = 0
  readonly #reads: CoalescedReads
  /** The replica L2 hits may be read from (`l2.replicas`), and its coalesced reads. */
  readonly replica: RedisConnection | undefined
  readonly #replicaReads: CoalescedReads | undefined
  /** `l2.minReplicas`: replicas each write must reach (`WAIT`) and within how long (ms); undefined: none. */
  readonly #ack: { replicas: number; timeout: number } | undefined
  #pendingLeases: PendingLeaseRead[] = []

  constructor(
    connection: RedisConnection,
    prefix: string,
    replica?: RedisConnection,
    ack?: { replicas: number; timeout: number },
  ) {
    this.connection = connection
    this.#ack = ack
    this.#prefix = prefix
    this.#lockChannel = lockChannelOf(prefix)
    this.#reads = new CoalescedReads(connection, (keys) => this.#mgetOn(connection, keys))
    this.replica = replica
    this.#replicaReads =
      replica === undefined ? undefined : new CoalescedReads(replica, (keys) => this.#mgetOn(replica, keys))
  }

  get circuit(): CircuitState {
    return this.connection.circuit
  }

  get isCluster(): boolean {
    return this.connection.isCluster
  }

  /** The lease key of full entry key `k`. */
  leaseKey(k: string): string {
    return leaseKeyOf(this.#prefix, k, this.isCluster)
  }

  /** The channel lock releases are published on (the message is the lease key). */
  get lockChannel(): string {
    return this.#lockChannel
  }

  // ---------------------------------------------------------------- reads

  /** Reads one key. Reads issued in the same tick go out together (see CoalescedReads). */
  get(key: string): Promise<Buffer | null> {
    return this.#reads.get(key)
  }

  /** {@link get} on the replica (`l2.replicas`; the caller checked there is one). */
  getFromReplica(key: string): Promise<Buffer | null> {
    return (this.#replicaReads as CoalescedReads).get(key)
  }

  /** Reads many keys: one MGET per 500 keys (per hash slot on a Cluster), sent in parallel; on the replica if asked. */
  mget(keys: readonly string[], fromReplica = false): Promise<Array<Buffer | null>> {
    return this.#mgetOn(fromReplica ? (this.replica as RedisConnection) : this.connection, keys)
  }

  async #mgetOn(connection: RedisConnection, keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return []
    const out = new Array<Buffer | null>(keys.length)
    await Promise.all(
      this.#group(keys).map(async (indexes) => {
        const values = await connection.run('MGET', (client) =>
          client.mgetBuffer(...indexes.map((i) => keys[i] as string)),
        )
        for (let j = 0; j < indexes.length; j++) out[indexes[j] as number] = values[j] ?? null
      }),
    )
    return out
  }

  /**
   * The read of a `getOrSet`: the entry, and a lease when it needs a fill (absent, garbage, or past its expiry
   * minus `request.refreshWindow`), in one Lua call. Reads in the same tick share it (per slot on a Cluster).
   * Where Lua replies are not binary-safe (ioredis-mock) the values come from an MGET sent in the same round trip;
   * the two are then not atomic, and a write between them can leave an entry without a lease (the caller then
   * takes one before its factory starts) or a fresh entry with one (the caller gives it back).
   */
  readWithLease(key: string, request: LeaseRequest): Promise<{ raw: Buffer | null; lease: Lease | undefined }> {
    return new Promise((resolve, reject) => {
      const pending = { key, lease: this.leaseKey(key), token: this.#token(request.lock), request, resolve, reject }
      if (this.#pendingLeases.push(pending) === 1) process.nextTick(this.#flushLeases)
    })
  }

  readonly #flushLeases = (): void => {
    const batch = this.#pendingLeases
    this.#pendingLeases = []
    const fail = (error: unknown): void => {
      for (const read of batch) read.reject(error)
    }
    this.connection.binarySafeScripts().then((withValues) => {
      for (const indexes of this.#group(
        batch.map((read) => read.key),
        MAX_KEYS_PER_COMMAND / 2,
      ))
        this.#readWithLeases(
          indexes.map((i) => batch[i] as PendingLeaseRead),
          withValues,
        )
    }, fail)
  }

  /** One Lua call for the group (and, where Lua replies are not binary-safe, an MGET sent with it). */
  #readWithLeases(group: PendingLeaseRead[], withValues: boolean): void {
    const keys: string[] = []
    const args: string[] = [String(Date.now()), withValues ? '1' : '0']
    for (const read of group) {
      keys.push(read.key, read.lease)
      args.push(read.token, String(read.request.ttl), read.request.lock ? '1' : '0', String(read.request.refreshWindow))
    }
    const replies = this.connection.evalBuffer<Array<[Buffer, number, number, Buffer]>>(READ_WITH_LEASES, keys, args)
    const values = withValues
      ? undefined
      : this.connection.run('MGET', (client) => client.mgetBuffer(...group.map((read) => read.key)))
    Promise.all([replies, values]).then(
      ([tokens, raws]) => {
        for (let i = 0; i < group.length; i++) {
          const read = group[i] as PendingLeaseRead
          const [token, mine, found, value] = tokens[i] ?? [Buffer.alloc(0), 0, 0, Buffer.alloc(0)]
          const lease = token.length === 0 ? undefined : { key: read.lease, token: token.toString(), mine: mine === 1 }
          const raw = raws === undefined ? (found === 1 ? value : null) : (raws[i] ?? null)
          read.resolve({ raw, lease })
        }
      },
      (error: unknown) => {
        for (const read of group) read.reject(error)
      },
    )
  }

  /** A lease without a read (forceFresh, refresh ahead, a tag check that turned a hit into a miss). */
  async takeLease(key: string, request: LeaseRequest): Promise<Lease> {
    const leaseKey = this.leaseKey(key)
    const token = this.#token(request.lock)
    const [current, mine] = await this.connection.eval<[string, number]>(
      TAKE_LEASE,
      [leaseKey],
      [token, String(request.ttl), request.lock ? '1' : '0'],
    )
    return { key: leaseKey, token: current, mine: mine === 1 }
  }

  /** Drops a lease we took (a fill that will not be written) and wakes its lock waiters. */
  async releaseLease(lease: Lease): Promise<void> {
    await unlock(this.connection, lease, lease.token.startsWith('L') ? this.#lockChannel : '')
  }

  /** The first 16 bytes of each key ('' when absent), for revalidation: one Lua call per 500 keys (per slot). */
  async headers(keys: readonly string[]): Promise<Buffer[]> {
    const out = new Array<Buffer>(keys.length)
    const plain = (await this.connection.binarySafeScripts()) ? '1' : '0'
    await Promise.all(
      this.#group(keys).map(async (indexes) => {
        const heads = await this.connection.evalBuffer<Buffer[]>(
          HEADERS,
          indexes.map((i) => keys[i] as string),
          [plain],
        )
        for (let j = 0; j < indexes.length; j++) out[indexes[j] as number] = heads[j] ?? Buffer.alloc(0)
      }),
    )
    return out
  }

  // ---------------------------------------------------------------- writes

  /**
   * Writes entries, drops their leases, makes sure their tag keys exist and announces them: one Lua call per
   * group (per hash slot on a Cluster, in parallel; tag keys, in their own slot there, in a call of their own).
   */
  async write(items: readonly WriteItem[], tags: TagKeys | undefined, announce: Announce): Promise<void> {
    if (items.length === 0) return
    const tagValue = tags === undefined ? '' : `c${tags.createdBefore}`
    const tagKeysInline = tags !== undefined && !this.isCluster ? tags.keys : []
    const writes = this.#group(items.map((item) => item.key)).map(async (indexes) => {
      const group = indexes.map((i) => items[i] as WriteItem)
      const message = this.#announcement(
        announce,
        group.map((item) => item.key),
      )
      const keys: string[] = []
      const args: Array<string | Buffer> = [String(group.length), message.channel, message.bytes, this.#lockChannel]
      args.push(tagValue)
      for (const item of group) {
        keys.push(item.key, this.leaseKey(item.key))
        args.push(item.bytes, String(item.px))
      }
      keys.push(...tagKeysInline)
      await this.#write(WRITE, keys, args)
    })
    if (tags !== undefined && this.isCluster) writes.push(this.#ensureTags(tags))
    await Promise.all(writes)
  }

  /**
   * A `getOrSet` fill: written (and announced) only while `lease` holds. Resolves false when the lease was lost:
   * the key was written, deleted or cleared since the lease was taken, so this value must not be cached.
   */
  async fill(item: WriteItem, lease: Lease, tags: TagKeys | undefined, announce: Announce): Promise<boolean> {
    const message = this.#announcement(announce, [item.key])
    const keys = [item.key, lease.key]
    if (tags !== undefined) {
      if (this.isCluster) await this.#ensureTags(tags)
      else keys.push(...tags.keys)
    }
    const args = [lease.token, item.bytes, String(item.px), message.channel, message.bytes, this.#lockChannel]
    args.push(tags === undefined ? '' : `c${tags.createdBefore}`)
    return (await this.#write<number>(FILL, keys, args)) === 1
  }

  /** Deletes keys (and their leases) and announces it; resolves with how many existed. */
  async del(keys: readonly string[], announce: Announce): Promise<number> {
    if (keys.length === 0) return 0
    const counts = await Promise.all(
      this.#group(keys, MAX_KEYS_PER_COMMAND / 2).map((indexes) => {
        const group = indexes.map((i) => keys[i] as string)
        const message = this.#announcement(announce, group)
        const pairs = group.flatMap((key) => [key, this.leaseKey(key)])
        return this.#write<number>(DELETE, pairs, [message.channel, message.bytes, this.#lockChannel])
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /** Atomic INCRBY (drops the key's lease, announces it); sets the TTL (ms) only when the counter is created. */
  async incr(key: string, by: number, px: number, announce: Announce): Promise<number> {
    const message = this.#announcement(announce, [key])
    const args = [String(by), String(px), message.channel, message.bytes, this.#lockChannel]
    try {
      return await this.#write<number>(INCR, [key, this.leaseKey(key)], args)
    } catch (error) {
      const cause = error instanceof L2CommandError ? error.cause : undefined
      if (isReplyError(cause) && /not an integer|out of range/i.test((cause as Error).message))
        throw new NotACounterError(key, { cause })
      throw error
    }
  }

  /** Sets a new expiry on an existing key (logical expiry in the envelope and Redis TTL) and announces it. */
  async expire(key: string, expiresAt: number, px: number, announce: Announce): Promise<boolean> {
    const message = this.#announcement(announce, [key])
    const header = Buffer.allocUnsafe(8)
    header.writeDoubleBE(expiresAt)
    const args = [header, String(px), message.channel, message.bytes]
    return (await this.#write<number>(EXPIRE, [key], args)) === 1
  }

  /** Records that `tagKeys` (one namespace: one slot) were invalidated at `time`, and announces it, in one call. */
  async invalidateTags(
    tagKeys: readonly string[],
    time: number,
    announcement: Announcement | undefined,
  ): Promise<void> {
    const message = announcement ?? NO_ANNOUNCEMENT
    await this.#write(INVALIDATE_TAGS, tagKeys, [String(time), message.channel, message.bytes])
  }

  /** PUBLISH (SPUBLISH for a sharded bus) an announcement on its own (the end of a `clear`). */
  async publish(announcement: Announcement): Promise<void> {
    const { channel, bytes } = announcement
    await this.connection.run('PUBLISH', (client) => publishAnnouncement(client, channel, bytes))
  }

  /**
   * Deletes every entry whose key starts with `entryPrefix`, and their leases, on every master: one SCAN
   * (never KEYS) matching both, filtered here. Resolves with how many entries were deleted.
   */
  async deleteMatching(entryPrefix: string): Promise<number> {
    const pattern = `*${entryPrefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    const leaseOf = (key: string): string | undefined => {
      const at = key.indexOf(`${this.#prefix}!lease:`)
      if (at < 0) return undefined
      const entry = key.slice(at + this.#prefix.length + 7)
      return entry.startsWith(entryPrefix) && this.leaseKey(entry) === key ? entry : undefined
    }
    let deleted = 0
    for await (const { node, keys } of this.connection.scan(pattern)) {
      const entries = keys.filter((key) => key.startsWith(entryPrefix))
      const doomed = [...entries, ...keys.filter((key) => leaseOf(key) !== undefined)]
      if (doomed.length === 0) continue
      // Keys found on one node may sit in different slots on a Cluster: delete each on its own, in one pipeline.
      const results = await this.connection.run('UNLINK', () => {
        const pipeline = node.pipeline()
        for (const key of doomed) pipeline.unlink(key)
        return pipeline.exec()
      })
      for (let i = 0; i < entries.length; i++) {
        const [error, count] = results?.[i] ?? [null, 0]
        if (error === null) deleted += Number(count)
      }
    }
    return deleted
  }

  /** Round trip to Redis (PING), resolving with the latency in ms. Ignores the circuit. */
  ping(): Promise<number> {
    return this.connection.ping()
  }

  /** A write's script; with `l2.minReplicas`, L2NotReplicatedError unless enough replicas acknowledged it. */
  async #write<T = unknown>(script: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<T> {
    const ack = this.#ack
    if (ack === undefined) return this.connection.eval<T>(script, keys, args)
    const { reply, acked } = await this.connection.evalWaited<T>(script, keys, args, ack)
    if (acked < ack.replicas) throw new L2NotReplicatedError(script.name, acked, ack.replicas)
    return reply
  }

  async #ensureTags(tags: TagKeys): Promise<void> {
    await this.connection.eval(ENSURE_TAGS, tags.keys, [`c${tags.createdBefore}`])
  }

  #announcement(announce: Announce, keys: readonly string[]): Announcement {
    return announce === undefined ? NO_ANNOUNCEMENT : announce(keys)
  }

  #token(lock: boolean): string {
    return `${lock ? 'L' : 'F'}${this.#origin}.${(this.#tokens++).toString(36)}`
  }

  /**
   * Groups key indexes so each group can go in one multi-key command: chunks of `max` keys, and on a Cluster
   * one group per hash slot.
   */
  #group(keys: readonly string[], max = MAX_KEYS_PER_COMMAND): number[][] {
    if (!this.isCluster) {
      if (keys.length <= max) return [keys.map((_, i) => i)]
      const chunks: number[][] = []
      for (let start = 0; start < keys.length; start += max)
        chunks.push(Array.from({ length: Math.min(max, keys.length - start) }, (_, j) => start + j))
      return chunks
    }
    const bySlot = new Map<number, number[]>()
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i] as string)
      const group = bySlot.get(slot)
      if (group === undefined) bySlot.set(slot, [i])
      else group.push(i)
    }
    return [...bySlot.values()]
  }
}
