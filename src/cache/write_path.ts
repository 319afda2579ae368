/**
 * The write path shared by `set`, `setMany` and `getOrSet` fills: validate and encode once, write
 * L2 together with the bus announcement (one Lua call, which also drops the entries' leases and
 * makes sure their tag keys exist), then install in L1 (fenced). A `getOrSet` fill is written only
 * while its lease holds (ARCHITECTURE.md, "Leases"). Only a write that reached L2 is announced.
 * @internal
 */
import { encodeEntry, storedChecksum } from '../codec/envelope.js'
import { EncodeError, L2UnavailableError, ValueTooLargeError, type CacheError } from '../errors.js'
import { stamp } from '../internal/clock.js'
import { isWellFormed, notWellFormed } from '../internal/well_formed.js'
import { describe } from '../internal/describe.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import type { Announce, Lease, TagKeys, WriteItem } from '../tiers/redis_tier.js'
import type { CacheContext, Scope } from './context.js'
import type { Ticket } from './fences.js'
import { writeToL2 } from './l2_write.js'
import { reviewTimeOf, l1Ttl, type ExpiryPolicy } from './read_path.js'
import { tagKey } from './tags.js'

/** A value on its way into the cache: validated and encoded once, before anything is written. */
export interface Prepared {
  /** Full Redis key. */
  k: string
  /** The caller's key. */
  key: string
  value: unknown
  bytes: Buffer
  ttl: number
  expiresAt: number
  tags: readonly string[] | undefined
  /** When the value was made (tagged entries only): an entry made before one of its tags was invalidated is stale. */
  createdAt: number | undefined
  /** The envelope's checksum: the L1 entry's version stamp for revalidation. */
  checksum: number
  /** How long the entry lives on past `expiresAt` (grace): Redis and L1 keep it for `ttl + grace`. */
  grace: number
  /** The L1 entry's `reviewAt` (see MemoryEntry), when it needs one. */
  reviewAt: number | undefined
}

const MAX_TAGS = 64

export function checkTags(tags: unknown): readonly string[] {
  if (
    !Array.isArray(tags) ||
    tags.length > MAX_TAGS ||
    !tags.every((t) => typeof t === 'string' && t.length > 0 && !t.includes('\u0000'))
  )
    throw new TypeError(
      `Expected \`tags\` to be an array of at most ${MAX_TAGS} non-empty strings, got ${describe(tags)}`,
    )
  for (const tag of tags as string[]) if (!isWellFormed(tag)) throw notWellFormed('tag', tag)
  return tags as string[]
}

/**
 * Encodes a value for `k`. Throws TypeError (cannot be encoded), EncodeError or ValueTooLargeError; changes
 * nothing.
 */
export function prepare(
  ctx: CacheContext,
  k: string,
  key: string,
  value: unknown,
  ttl: number,
  tags: readonly string[] | undefined,
  createdAt?: number,
  expiry?: ExpiryPolicy,
): Prepared {
  if (value === undefined)
    throw new TypeError(`Cannot cache \`undefined\` at "${key}": undefined means a miss; use delete()`)
  const expiresAt = Date.now() + ttl
  const made = tags === undefined || tags.length === 0 ? undefined : (createdAt ?? stamp())
  let bytes: Buffer
  try {
    bytes = encodeEntry(ctx.options.codec, value, expiresAt, tags, made)
  } catch (error) {
    // The codec names what it cannot carry (`value.format` is a function …); say where it was going.
    if (error instanceof TypeError)
      throw new TypeError(`Cannot cache the value at "${key}": ${error.message}`, { cause: error })
    throw new EncodeError(key, error)
  }
  if (bytes.length > ctx.options.maxValueBytes)
    throw new ValueTooLargeError(key, bytes.length, ctx.options.maxValueBytes)
  return {
    k,
    key,
    value,
    bytes,
    ttl,
    expiresAt,
    tags,
    createdAt: made,
    checksum: storedChecksum(bytes),
    grace: expiry?.grace ?? 0,
    reviewAt: reviewTimeOf(expiresAt, expiry),
  }
}

/** Dual write for `set`/`setMany`: an L2 failure follows `l2.onWriteError`. */
export async function writeEntries(scope: Scope, items: readonly Prepared[]): Promise<void> {
  const { ctx, l1 } = scope
  const { l2, fences } = ctx
  const tickets = l1 === undefined ? undefined : items.map((item) => fences.enter(item.k))
  try {
    if (l2 !== undefined) {
      const written = await writeToL2(
        ctx,
        {
          operation: 'set',
          key: items.length === 1 ? items[0]?.key : undefined,
          throws: 'onWriteError',
          beforeThrow: () => dropLocal(scope, items),
          fallback: (error) => (installDegraded(scope, items, tickets, error), false),
        },
        async (tier) => {
          await tier.write(items.map(writeItemOf), tagKeysOf(scope, items), announceFor(ctx))
          return true
        },
      )
      if (!written) return
    }
    install(scope, items, tickets)
  } finally {
    if (tickets !== undefined) for (const ticket of tickets) fences.leave(ticket)
  }
}

/**
 * Writes a `getOrSet` result. With Redis it is written only while `lease` holds: a write, delete or clear of the
 * key since the lease was taken (on any node) means the value may predate it, and it is then cached nowhere.
 * Without a lease (the read that would have taken it failed) it is kept in this node's L1 only, as when the write
 * fails: for at most `l2.localTtl`, with `write:degraded`.
 */
export async function writeFill(
  scope: Scope,
  item: Prepared,
  lease: Lease | undefined,
  /** The ticket its factory took when it started: an invalidation since then keeps the value out of L1. */
  since?: Ticket,
): Promise<FillOutcome> {
  const { ctx, l1 } = scope
  const { l2, fences } = ctx
  const ticket = l1 === undefined ? undefined : fences.enter(item.k)
  const tickets = ticket === undefined ? undefined : [ticket]
  try {
    if (l2 !== undefined) {
      if (lease === undefined) {
        installDegraded(
          scope,
          [item],
          tickets,
          new L2UnavailableError('SET (a fill whose read failed has no lease)'),
          since,
        )
        return 'degraded'
      }
      const outcome = await writeToL2<FillOutcome>(
        ctx,
        {
          operation: 'set',
          key: item.key,
          throws: 'never',
          fallback: (error) => (installDegraded(scope, [item], tickets, error, since), 'degraded'),
        },
        async (tier) =>
          (await tier.fill(writeItemOf(item), lease, tagKeysOf(scope, [item]), announceFor(ctx))) ? 'written' : 'lost',
      )
      if (outcome !== 'written') return outcome
    }
    install(scope, [item], tickets, since)
    return 'written'
  } finally {
    if (ticket !== undefined) fences.leave(ticket)
  }
}

/** What became of a fill: cached, lost its lease (cached nowhere), or kept in this node's L1 only. */
export type FillOutcome = 'written' | 'lost' | 'degraded'

/** True when no invalidation of the item (its key, everything, or one of its tags) happened since the tickets. */
function current(scope: Scope, item: Prepared, ticket: Ticket, since: Ticket | undefined): boolean {
  const { fences } = scope.ctx
  return (
    fences.validFor(ticket, scope.prefix, item.tags) &&
    (since === undefined || fences.validFor(since, scope.prefix, item.tags))
  )
}

/** Installs written entries in L1 unless an invalidation overlapped their write (or fill), then reports them. */
function install(scope: Scope, items: readonly Prepared[], tickets: Ticket[] | undefined, since?: Ticket): void {
  const { ctx, namespace, l1 } = scope
  if (l1 !== undefined && tickets !== undefined) {
    const now = Date.now()
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as Prepared
      const valid = current(scope, item, tickets[i] as Ticket, since)
      ctx.fences.invalidate(item.k) // reads that overlapped this write must not promote what they read
      if (valid) l1.set(item.key, entryOf(item, now), l1Ttl(ctx, item.ttl + item.grace), item.bytes.length)
      else l1.delete(item.key)
    }
  } else if (ctx.replicaRoutes !== undefined) {
    for (const item of items) ctx.replicaRoutes.key(item.k) // no L1: still read this node's own writes on the primary
  }
  ctx.counters.writes += items.length
  ctx.events.emit('written', { namespace, keys: items.map((item) => item.key) })
}

function installDegraded(
  scope: Scope,
  items: readonly Prepared[],
  tickets: Ticket[] | undefined,
  error: CacheError,
  since?: Ticket,
): void {
  const { ctx, namespace, l1 } = scope
  const { fences, options } = ctx
  const now = Date.now()
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Prepared
    if (l1 !== undefined && tickets !== undefined && current(scope, item, tickets[i] as Ticket, since)) {
      fences.invalidate(item.k)
      l1.set(item.key, entryOf(item, now), Math.min(item.ttl, options.l2?.localTtl ?? item.ttl), item.bytes.length)
    }
    ctx.events.emit('write:degraded', { namespace, key: item.key, error })
  }
}

/**
 * `getOrSet({ background: true })`: installs the value in L1 now (fenced like any write), then writes Redis
 * (under its lease) and announces without the caller waiting. A lost lease drops the L1 copy again; a failed
 * write is reported by writeFill (`write:degraded`); anything else is routed to `background:error`.
 */
export function writeInBackground(
  scope: Scope,
  item: Prepared,
  lease: Lease | undefined,
  settled: (outcome: FillOutcome) => void,
  since?: Ticket,
): void {
  const { ctx, l1 } = scope
  const installed = l1 !== undefined && (since === undefined || ctx.fences.validFor(since, scope.prefix, item.tags))
  if (installed) {
    ctx.fences.invalidate(item.k)
    l1.set(item.key, entryOf(item, Date.now()), l1Ttl(ctx, item.ttl + item.grace), item.bytes.length)
  }
  // Once installed, what counts is an invalidation after the install, which writeFill's own ticket (taken before
  // it first awaits) sees; `since` would also see the install's own fence move and leave the entry at full TTL
  // when the write fails.
  writeFill(scope, item, lease, installed ? undefined : since).then(
    (outcome) => {
      if (outcome === 'lost') dropLocal(scope, [item])
      settled(outcome)
    },
    (error: unknown) => ctx.events.emit('background:error', { operation: 'set', key: item.key, error }),
  )
}

/** How writes of this cache are announced: by its bus, or not at all. */
export function announceFor(ctx: CacheContext): Announce {
  const announcer = ctx.announcer
  return announcer === undefined ? undefined : (keys) => announcer.keysMessage(keys)
}

/** Drops keys from this node's L1 and fences reads in flight for them. */
export function dropLocal(scope: Scope, keys: ReadonlyArray<{ k: string; key: string }>): void {
  const { l1, ctx } = scope
  for (const { k, key } of keys) {
    ctx.fences.invalidate(k)
    l1?.delete(key)
  }
}

function writeItemOf(item: Prepared): WriteItem {
  return { key: item.k, bytes: item.bytes, px: item.ttl + item.grace }
}

/**
 * How far before its write a missing tag key is (re)created: as of just before the oldest entry was made, but no
 * earlier than this before now. A tag key missing because it was evicted lost its last invalidation time; a fill
 * whose factory started long before (and before that invalidation) recreating it with its start time would bring
 * back what the invalidation removed. Capped, only entries made within this window of a lost invalidation can;
 * a fill slower than it writes an entry that reads as a miss until it is rewritten (README, "Tags").
 */
const TAG_RECREATION_WINDOW = 1000

/** The tag keys written entries need, created (when missing) as of just before the oldest entry was made. */
function tagKeysOf(scope: Scope, items: readonly Prepared[]): TagKeys | undefined {
  let keys: Set<string> | undefined
  let oldest = Infinity
  for (const item of items) {
    if (item.tags === undefined || item.createdAt === undefined) continue
    keys ??= new Set()
    for (const tag of item.tags) keys.add(tagKey(scope.ctx.options.prefix, scope.namespace, tag))
    oldest = Math.min(oldest, item.createdAt)
  }
  if (keys === undefined) return undefined
  return { keys: [...keys], createdBefore: Math.max(oldest, stamp() - TAG_RECREATION_WINDOW) - 0.001 }
}

export function entryOf(item: Prepared, now: number): MemoryEntry {
  const entry = {
    value: item.value,
    expiresAt: item.expiresAt,
    tags: item.tags,
    installedAt: now,
    checksum: item.checksum,
    createdAt: item.createdAt,
  }
  return item.reviewAt === undefined ? entry : { ...entry, reviewAt: item.reviewAt }
}
