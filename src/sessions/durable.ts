/**
 * The optional durable copy (`durable` option): written through after every change that reached Redis, read
 * when Redis has no copy of a session, never consulted when Redis holds a tombstone (so an ended session cannot
 * come back from it), and refused when its deadlines have passed.
 */
import type { SessionContext } from './context.js'
import { SessionDurableError } from './errors.js'
import type { DurableSessionRecord } from './options.js'
import { decodeFields, encodeData, readSession, type SessionMeta, type StoredSession } from './record.js'
import { indexAdd, indexConfirm } from './user_index.js'
import { createStored } from './writes.js'

/** Runs one call of the durable store, wrapping what it throws in `SessionDurableError`. */
export async function durableCall<T>(operation: 'load' | 'save' | 'destroy', call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw new SessionDurableError(operation, error)
  }
}

/** The record the durable store keeps for a stored session. */
export function recordOf(ctx: SessionContext, session: StoredSession): DurableSessionRecord {
  const { meta } = session
  return {
    data: decodeFields(ctx.options.codec, session.fields),
    userId: meta.userId,
    ref: meta.ref,
    createdAt: meta.createdAt,
    lastActiveAt: meta.lastActiveAt,
    expiresAt: meta.expiresAt,
    absoluteExpiresAt: meta.absoluteExpiresAt,
    version: meta.version,
  }
}

/** Writes the session read back from Redis after a change (a `WRITE` reply with every field) to the durable store. */
export async function saveThrough(
  ctx: SessionContext,
  id: string,
  all: Array<[string, Buffer]>,
  now: number,
): Promise<void> {
  const durable = ctx.options.durable
  if (durable === undefined) return
  const read = readSession(all, now)
  if (read.state !== 'live') return
  await durableCall('save', () => durable.save(id, recordOf(ctx, read.session)))
}

/**
 * Puts a session back into Redis from the durable store, when Redis has no copy at all. Resolves with it;
 * `'taken'` when another call put something under its key first (read it again); undefined when the durable store
 * has none, or only an expired one (then deleted there, best effort).
 */
export async function restore(
  ctx: SessionContext,
  id: string,
  hash: string,
  now: number,
): Promise<StoredSession | 'taken' | undefined> {
  const durable = ctx.options.durable
  if (durable === undefined) return undefined
  const record = await durableCall('load', () => durable.load(id))
  if (record === undefined || record === null) return undefined
  if (!isRecord(record) || now >= record.expiresAt || now >= record.absoluteExpiresAt) {
    Promise.resolve()
      .then(() => durable.destroy(id))
      .catch((error: unknown) => ctx.events.emit('durable:error', { operation: 'destroy expired', error }))
    return undefined
  }
  const { fields, bytes } = encodeData(ctx.options.codec, record.data)
  const userId = typeof record.userId === 'string' && record.userId !== '' ? record.userId : undefined
  const tag = userId === undefined ? undefined : ctx.keys.userTag(userId)
  const ref =
    tag === undefined
      ? undefined
      : ctx.keys.tagOfRef(record.ref) === tag
        ? (record.ref as string)
        : ctx.keys.newRef(tag)
  const meta: SessionMeta = {
    createdAt: record.createdAt,
    lastActiveAt: record.lastActiveAt,
    expiresAt: record.expiresAt,
    absoluteExpiresAt: record.absoluteExpiresAt,
    userId,
    ref,
    bytes,
    version: record.version,
  }
  if (tag !== undefined && ref !== undefined) await indexAdd(ctx, tag, ref, hash, record.absoluteExpiresAt, now)
  const created = await createStored(ctx, hash, meta, fields, now)
  if (created === 'taken') return 'taken'
  if (created === 'expired') return undefined
  if (tag !== undefined && ref !== undefined) await indexConfirm(ctx, tag, ref, hash)
  return { meta, fields }
}

function isRecord(value: unknown): value is DurableSessionRecord {
  const r = value as DurableSessionRecord
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof r.data === 'object' &&
    r.data !== null &&
    [r.createdAt, r.lastActiveAt, r.expiresAt, r.absoluteExpiresAt, r.version].every((n) => Number.isFinite(n))
  )
}
