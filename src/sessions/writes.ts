/**
 * The Redis side of one session: create only-if-absent, change per field, take (for regenerate), destroy. One Lua
 * call each, on the session's own key (scripts.ts). Every function sends its command synchronously, before its
 * first `await`, so calls made in order reach Redis in that order.
 */
import { CREATE, DESTROY, TAKE, WRITE } from './scripts.js'
import { tombstoneCap, type SessionContext } from './context.js'
import { isWrongType, pairsOf, storedName, type SessionMeta } from './record.js'

/** Creates the session only if its key is absent. */
export async function createStored(
  ctx: SessionContext,
  hash: string,
  meta: SessionMeta,
  fields: ReadonlyMap<string, Buffer>,
  now: number,
): Promise<'created' | 'taken' | 'expired'> {
  const args: Array<string | number | Buffer> = [
    now,
    meta.createdAt,
    meta.lastActiveAt,
    meta.expiresAt,
    meta.absoluteExpiresAt,
    meta.userId ?? '',
    meta.ref ?? '',
    meta.bytes,
    meta.version,
  ]
  for (const [name, value] of fields) args.push(storedName(name), value)
  const reply = await ctx.connection.eval<number>(CREATE, [ctx.keys.sessionKey(hash)], args)
  return reply === 1 ? 'created' : reply === 0 ? 'taken' : 'expired'
}

export interface FieldChange {
  set: ReadonlyMap<string, Buffer>
  unset: readonly string[]
  /** A new user (with its new ref), `null` to remove the user, undefined to keep it. */
  user?: { userId: string; ref: string } | null
  /** A touch: write nothing when the last activity is more recent than this (ms). 0 for a change. */
  throttle: number
  /** Reply with every field after the write (for the durable copy). */
  returnAll: boolean
}

export type WriteResult =
  | {
      status: 'written'
      oldUserId: string | undefined
      oldRef: string | undefined
      all?: Array<[string, Buffer]>
    }
  | { status: 'absent' }
  | { status: 'ended' }
  | { status: 'throttled' }
  | { status: 'too-large'; bytes: number }

type WriteReply = 1 | [number, (number | string | Buffer)?, (string | Buffer)?, (string | Buffer)?, Buffer[]?]

/** Changes a live session per field, as activity (scripts.ts, WRITE). Never recreates one. */
export async function writeStored(
  ctx: SessionContext,
  hash: string,
  change: FieldChange,
  now: number,
): Promise<WriteResult> {
  const { options } = ctx
  const args: Array<string | number | Buffer> = [
    now,
    options.idleTimeout,
    options.maxBytes,
    change.throttle,
    change.returnAll ? 'a' : '-',
    change.user === undefined ? '-' : '=',
    change.user?.userId ?? '',
    change.user?.ref ?? '',
    change.unset.length,
  ]
  for (const name of change.unset) args.push(storedName(name))
  for (const [name, value] of change.set) args.push(storedName(name), value)
  const key = [ctx.keys.sessionKey(hash)]
  let reply: WriteReply
  try {
    reply = await (change.returnAll
      ? ctx.connection.evalBuffer<WriteReply>(WRITE, key, args)
      : ctx.connection.eval<WriteReply>(WRITE, key, args))
  } catch (error) {
    // Something else under a session key (garbage): there is no session to change.
    if (isWrongType(error)) return { status: 'ended' }
    throw error
  }
  if (reply === 1) return { status: 'written', oldUserId: undefined, oldRef: undefined }
  switch (reply[0]) {
    case 1: {
      const text = (value: string | Buffer | number | undefined): string | undefined =>
        value === undefined || value.toString() === '' ? undefined : value.toString()
      return {
        status: 'written',
        oldUserId: text(reply[2]),
        oldRef: text(reply[3]),
        ...(reply[4] !== undefined && { all: pairsOf(reply[4]) }),
      }
    }
    case 0:
      return { status: 'absent' }
    case 2:
      return { status: 'throttled' }
    case -1:
      return { status: 'too-large', bytes: Number(reply[1]) }
    default:
      return { status: 'ended' }
  }
}

/** Takes a live session away from its key, leaving a tombstone; its fields, or undefined when it is not live. */
export async function takeStored(
  ctx: SessionContext,
  hash: string,
  now: number,
): Promise<Array<[string, Buffer]> | undefined> {
  const reply = await ctx.connection
    .evalBuffer<Buffer[] | null>(TAKE, [ctx.keys.sessionKey(hash)], [now, tombstoneCap(ctx)])
    .catch((error: unknown) => {
      if (isWrongType(error)) return null
      throw error
    })
  return reply === null ? undefined : pairsOf(reply)
}

/**
 * Ends a session (leaving a tombstone), only if it has `expectedRef` when one is given. Resolves with the user and
 * ref it had, or undefined when there was no such session.
 */
export async function destroyStored(
  ctx: SessionContext,
  hash: string,
  now: number,
  expectedRef = '',
): Promise<{ userId: string | undefined; ref: string | undefined } | undefined> {
  const durable = ctx.options.durable !== undefined
  const reply = await ctx.connection
    .eval<[string, string] | null>(
      DESTROY,
      [ctx.keys.sessionKey(hash)],
      [now, tombstoneCap(ctx), expectedRef, durable ? '1' : '0'],
    )
    .catch((error: unknown) => {
      if (isWrongType(error)) return null
      throw error
    })
  if (reply === null) return undefined
  return { userId: reply[0] || undefined, ref: reply[1] || undefined }
}
