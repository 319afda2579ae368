/**
 * The steps of each session operation, in the order that keeps the invariants (ARCHITECTURE.md, "Sessions"): a
 * user's index learns of a session before the session is written under that user; Redis first, then the durable
 * copy; a session that is gone is never recreated. `SessionStore` (store.ts) is the public face of these.
 */
import type { SessionContext } from './context.js'
import { durableCall, recordOf, restore, saveThrough } from './durable.js'
import { SessionGoneError, SessionTooLargeError } from './errors.js'
import { newSessionId } from './keys.js'
import { isWrongType, pairsOf, readSession, type ReadResult, type SessionMeta, type StoredSession } from './record.js'
import { indexAdd, indexConfirm, indexForget } from './user_index.js'
import { createStored, destroyStored, takeStored, writeStored, type FieldChange } from './writes.js'

/** What a per-field write came to. */
export type WriteOutcome = { status: 'written'; at: number } | { status: 'throttled' } | { status: 'gone' }

/** A change of encoded fields. */
export interface EncodedChange {
  set: ReadonlyMap<string, Buffer>
  unset: readonly string[]
  /** Move the session to this user's index (`null`: out of any). */
  userId?: string | null
  /** A touch: nothing is written within this long of the last activity (ms). 0 for a change. */
  throttle: number
}

/** The stored session (put back from the durable copy when Redis has none), or undefined. */
export async function loadSession(ctx: SessionContext, id: string): Promise<StoredSession | undefined> {
  const { keys, options } = ctx
  const hash = keys.hashOf(id)
  const key = keys.sessionKey(hash)
  const now = options.now()
  const read = await readKey(ctx, key, now)
  if (read.state === 'live') return read.session
  if (read.state === 'garbage') ctx.events.emit('session:garbage', { reason: read.reason })
  if (read.state !== 'absent' || options.durable === undefined) return undefined
  const restored = await restore(ctx, id, hash, now)
  if (restored !== 'taken') return restored
  const again = await readKey(ctx, key, now) // another server put it back first
  return again.state === 'live' ? again.session : undefined
}

async function readKey(ctx: SessionContext, key: string, now: number): Promise<ReadResult> {
  try {
    // The reply as a flat array of Buffers: no object built only to be taken apart again.
    const reply = await ctx.connection.run('session get', (client) => client.callBuffer('HGETALL', key))
    return readSession(pairsOf(reply as Buffer[]), now)
  } catch (error) {
    if (isWrongType(error)) return { state: 'garbage', reason: 'the key holds another type' }
    throw error
  }
}

/** Creates a session from encoded fields only if its key is absent: its metadata, or undefined when taken. */
export async function createSession(
  ctx: SessionContext,
  id: string,
  encoded: { fields: Map<string, Buffer>; bytes: number },
  userId: string | undefined,
): Promise<SessionMeta | undefined> {
  const { keys, options } = ctx
  if (encoded.bytes > options.maxBytes) throw new SessionTooLargeError(encoded.bytes, options.maxBytes)
  const now = options.now()
  const hash = keys.hashOf(id)
  const tag = userId === undefined ? undefined : keys.userTag(userId)
  const ref = tag === undefined ? undefined : keys.newRef(tag)
  const absolute = now + options.absoluteTimeout
  const meta: SessionMeta = {
    createdAt: now,
    lastActiveAt: now,
    expiresAt: Math.min(now + options.idleTimeout, absolute),
    absoluteExpiresAt: absolute,
    userId,
    ref,
    bytes: encoded.bytes,
    version: 1,
  }
  if (tag !== undefined && ref !== undefined) await indexAdd(ctx, tag, ref, hash, absolute, now)
  const created = await createStored(ctx, hash, meta, encoded.fields, now)
  if (tag !== undefined && ref !== undefined) {
    if (created === 'created') await indexConfirm(ctx, tag, ref, hash)
    else await indexForget(ctx, ref, hash, 'create')
  }
  if (created !== 'created') return undefined
  const durable = options.durable
  if (durable !== undefined) {
    try {
      await durableCall('save', () => durable.save(id, recordOf(ctx, { meta, fields: encoded.fields })))
    } catch (error) {
      // Not durable, so not created: take it back from Redis.
      const ended = await destroyStored(ctx, hash, now).catch(() => undefined)
      if (ended?.ref !== undefined) await indexForget(ctx, ended.ref, hash, 'create')
      throw error
    }
  }
  return meta
}

/**
 * Writes encoded fields (per field, atomic, as activity); with `userId`, moves the session to that user's index
 * first. Sends the write before any `await` unless the user changes, so writes reach Redis in call order.
 */
export async function changeSession(ctx: SessionContext, id: string, change: EncodedChange): Promise<WriteOutcome> {
  const { keys, options } = ctx
  const hash = keys.hashOf(id)
  const now = options.now()
  const tag = typeof change.userId === 'string' ? keys.userTag(change.userId) : undefined
  const user =
    tag === undefined
      ? change.userId === null
        ? null
        : undefined
      : { userId: change.userId as string, ref: keys.newRef(tag) }
  const fieldChange: FieldChange = {
    set: change.set,
    unset: change.unset,
    user,
    throttle: change.throttle,
    returnAll: options.durable !== undefined,
  }
  if (tag !== undefined && user) await indexAdd(ctx, tag, user.ref, hash, now + options.absoluteTimeout, now)
  let result = await writeStored(ctx, hash, fieldChange, now)
  if (result.status === 'absent' && options.durable !== undefined && (await loadSession(ctx, id)) !== undefined)
    result = await writeStored(ctx, hash, fieldChange, now)
  if (result.status === 'written') {
    if (user) {
      // The same user again: the session kept its ref, so the new one goes.
      if (result.oldUserId === user.userId) await indexForget(ctx, user.ref, hash, 'update')
      else {
        if (result.oldRef !== undefined) await indexForget(ctx, result.oldRef, hash, 'update')
        await indexConfirm(ctx, tag as string, user.ref, hash)
      }
    } else if (user === null && result.oldRef !== undefined) await indexForget(ctx, result.oldRef, hash, 'update')
    if (result.all !== undefined) await saveThrough(ctx, id, result.all, now)
    return { status: 'written', at: now }
  }
  if (result.status === 'throttled') return { status: 'throttled' }
  if (user) await indexForget(ctx, user.ref, hash, 'update')
  if (result.status === 'too-large') throw new SessionTooLargeError(result.bytes, options.maxBytes)
  return { status: 'gone' }
}

/**
 * Moves a session to a new id: one call takes it from the old key (leaving a tombstone), then the new key is
 * created with the same fields, user, ref and absolute deadline. If the process dies in between, the session is
 * lost (its user logs in again), never duplicated.
 */
export async function regenerateSession(ctx: SessionContext, id: string): Promise<string> {
  const { keys, options } = ctx
  const oldHash = keys.hashOf(id)
  const now = options.now()
  let taken = await takeStored(ctx, oldHash, now)
  if (taken === undefined && options.durable !== undefined && (await loadSession(ctx, id)) !== undefined)
    taken = await takeStored(ctx, oldHash, now)
  const read = taken === undefined ? undefined : readSession(taken, now)
  if (read?.state !== 'live') throw new SessionGoneError('regenerate')
  const old = read.session.meta
  const newId = newSessionId()
  const hash = keys.hashOf(newId)
  const meta: SessionMeta = {
    ...old,
    lastActiveAt: now,
    expiresAt: Math.min(now + options.idleTimeout, old.absoluteExpiresAt),
    version: old.version + 1,
  }
  const session = { meta, fields: read.session.fields }
  const durable = options.durable
  if (durable !== undefined) await durableCall('save', () => durable.save(newId, recordOf(ctx, session)))
  const tag = keys.tagOfRef(meta.ref)
  if (tag !== undefined) await indexAdd(ctx, tag, meta.ref as string, hash, meta.absoluteExpiresAt, now)
  await createStored(ctx, hash, meta, session.fields, now)
  if (tag !== undefined) await indexConfirm(ctx, tag, meta.ref as string, hash)
  if (durable !== undefined) {
    // The old record cannot come back (its tombstone lasts until the absolute deadline): deleting it is tidying.
    Promise.resolve()
      .then(() => durable.destroy(id))
      .catch((error: unknown) => ctx.events.emit('durable:error', { operation: 'destroy regenerated', error }))
  }
  return newId
}

/** Ends a session (its durable copy first), leaving a tombstone; true when there was one. */
export async function destroySession(ctx: SessionContext, id: string): Promise<boolean> {
  const durable = ctx.options.durable
  if (durable !== undefined) await durableCall('destroy', () => durable.destroy(id))
  const hash = ctx.keys.hashOf(id)
  const ended = await destroyStored(ctx, hash, ctx.options.now())
  if (ended?.ref !== undefined) await indexForget(ctx, ended.ref, hash, 'destroy')
  return ended !== undefined
}
