/**
 * The write path shared by `set`, `setMany` and `getOrSet`: validate and encode once, write L2
 * (one command or one pipeline), then L1 (fenced), then announce to the other nodes. Only a
 * write that reached L2 is announced.
 * @internal
 */
import { encodeEntry } from '../codec/envelope.js'
import { EncodeError, L2UnavailableError, ValueTooLargeError, type CacheError } from '../errors.js'
import { describe } from '../internal/describe.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import type { Announcer, CacheContext, Scope } from './context.js'
import type { Announcement } from '../tiers/redis_tier.js'
import type { Ticket } from './fences.js'
import { checkAt, l1Ttl, reportL2Error, type Keep } from './read_path.js'

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
  /** How long the entry lives on past `expiresAt` (grace): Redis and L1 keep it for `ttl + grace`. */
  grace: number
  /** The L1 entry's `g` (see MemoryEntry), when it needs one. */
  g: number | undefined
}

const MAX_TAGS = 64

export function checkTags(tags: unknown): readonly string[] {
  if (!Array.isArray(tags) || tags.length > MAX_TAGS || !tags.every((t) => typeof t === 'string' && t.length > 0 && !t.includes('\u0000')))
    throw new TypeError(`Expected \`tags\` to be an array of at most ${MAX_TAGS} non-empty strings, got ${describe(tags)}`)
  return tags as string[]
}

/** Encodes a value for `k`. Throws TypeError (cannot be encoded), EncodeError or ValueTooLargeError; changes nothing. */
export function prepare(
  ctx: CacheContext,
  k: string,
  key: string,
  value: unknown,
  ttl: number,
  tags: readonly string[] | undefined,
  createdAt?: number,
  keep?: Keep,
): Prepared {
  if (value === undefined) throw new TypeError(`Cannot cache \`undefined\` at "${key}": undefined means a miss; use delete()`)
  const expiresAt = Date.now() + ttl
  let bytes: Buffer
  try {
    bytes = encodeEntry(ctx.options.codec, value, expiresAt, tags, createdAt)
  } catch (error) {
    if (error instanceof TypeError) throw error
    throw new EncodeError(`Cannot encode the value for "${key}": ${(error as Error).message}`, { cause: error })
  }
  if (bytes.length > ctx.options.maxValueBytes) throw new ValueTooLargeError(key, bytes.length, ctx.options.maxValueBytes)
  return { k, key, value, bytes, ttl, expiresAt, tags, grace: keep?.grace ?? 0, g: checkAt(expiresAt, keep) }
}

/**
 * Dual write. With `strict` (set/setMany) an L2 failure follows `l2.onWriteError`; without it
 * (getOrSet) the value is kept in L1 for at most `l2.localTtl` and `write:degraded` is emitted.
 */
export async function writeEntries(scope: Scope, items: readonly Prepared[], strict: boolean): Promise<void> {
  const { ctx, namespace, l1 } = scope
  const { l2, fences } = ctx
  const tickets = l1 === undefined ? undefined : items.map((item) => fences.enter(item.k))
  try {
    if (l2 !== undefined) {
      try {
        const writes = items.map((item) => ({ key: item.k, bytes: item.bytes, px: item.ttl + item.grace }))
        const announcer = ctx.announcer
        // With a bus, the write and its announcement go in one Lua call: one round trip, and a
        // write that fails is never announced.
        if (announcer !== undefined) await l2.setAndAnnounce(writes, (keys) => announcementFor(announcer, keys))
        else if (writes.length === 1) await l2.set(writes[0] as (typeof writes)[number])
        else await l2.setMany(writes)
      } catch (error) {
        reportL2Error(ctx, 'set', items.length === 1 ? items[0]?.key : undefined, error)
        // No separate announcement for a write that may still land (a timeout): it travels in the
        // same Lua call as its announcement, so if it lands it announces itself.
        if (strict && ctx.options.l2?.onWriteError === 'throw') {
          dropLocal(scope, items)
          throw error
        }
        installDegraded(scope, items, tickets, error as CacheError)
        return
      }
    }
    if (l1 !== undefined && tickets !== undefined) {
      const now = Date.now()
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as Prepared
        const current = fences.valid(tickets[i] as Ticket)
        fences.invalidate(item.k) // reads that overlapped this write must not promote what they read
        if (current) l1.set(item.key, entryOf(item, now), l1Ttl(ctx, item.ttl + item.grace), item.bytes.length)
        else l1.delete(item.key)
      }
    }
    ctx.counters.writes += items.length
    ctx.events.emit('written', { namespace, keys: items.map((item) => item.key) })
  } finally {
    if (tickets !== undefined) for (const ticket of tickets) fences.leave(ticket)
  }
}

function installDegraded(scope: Scope, items: readonly Prepared[], tickets: Ticket[] | undefined, error: CacheError): void {
  const { ctx, namespace, l1 } = scope
  const { fences, options } = ctx
  const now = Date.now()
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Prepared
    if (l1 !== undefined && tickets !== undefined && fences.valid(tickets[i] as Ticket)) {
      fences.invalidate(item.k)
      l1.set(item.key, entryOf(item, now), Math.min(item.ttl, options.l2?.localTtl ?? item.ttl), item.bytes.length)
    }
    ctx.events.emit('write:degraded', { namespace, key: item.key, error })
  }
}

/**
 * `getOrSet({ background: true })`: installs the value in L1 now (fenced like any write), then
 * writes Redis and announces without the caller waiting. writeEntries (not strict) reports a
 * failed write itself (`write:degraded`, L1 kept for `l2.localTtl`); anything else it throws is
 * routed to `background:error`.
 */
export function writeInBackground(scope: Scope, item: Prepared): void {
  const { ctx, l1 } = scope
  if (l1 !== undefined) {
    ctx.fences.invalidate(item.k)
    l1.set(item.key, entryOf(item, Date.now()), l1Ttl(ctx, item.ttl + item.grace), item.bytes.length)
  }
  writeEntries(scope, [item], false).then(undefined, (error: unknown) =>
    ctx.events.emit('background:error', { operation: 'set', key: item.key, error }),
  )
}

/** The one bus message for keys of one namespace. */
export function announcementFor(announcer: Announcer, keys: readonly string[]): Announcement {
  const [message] = announcer.messagesFor(keys)
  if (message === undefined) throw new TypeError(`No bus message for keys ${keys.join(', ')}`)
  return message
}

/**
 * A command whose reply failed may still have been applied (a timeout, a connection lost after the command
 * was sent): the other nodes are told anyway, since an extra invalidation costs them one miss while a missing one
 * leaves them stale until the TTL. Not when the command was never sent (circuit open).
 */
export function mayHaveLanded(error: unknown): boolean {
  return !(error instanceof L2UnavailableError)
}

/** Drops keys from this node's L1 and fences reads in flight for them. */
export function dropLocal(scope: Scope, keys: ReadonlyArray<{ k: string; key: string }>): void {
  const { l1, ctx } = scope
  for (const { k, key } of keys) {
    ctx.fences.invalidate(k)
    l1?.delete(key)
  }
}

function entryOf(item: Prepared, now: number): MemoryEntry {
  const entry = { v: item.value, e: item.expiresAt, t: item.tags, at: now }
  return item.g === undefined ? entry : { ...entry, g: item.g }
}
