/**
 * The per-user index: a sorted set of refs scored by each session's absolute deadline, with a companion hash from
 * ref to state and session digest (`0<digest>` pending, `1<digest>` confirmed), both in the user's hash slot.
 *
 * A session and its user's index cannot share a slot (the session's key follows from an id chosen before anyone
 * logs in), so no Lua call needs both. Instead the order of the single-slot calls keeps this invariant: every live
 * session with a user has a ref in that user's index, scored no earlier than the session's last moment.
 *
 * - The ref is added (pending) before the session is written under that user, and confirmed after.
 * - A session's TTL never passes its absolute deadline, which is its ref's score, so pruning by score (on every
 *   read and write of the index) never drops a live session's ref.
 * - A ref is removed otherwise only after its own session was seen ended (compare-and-delete on its digest), or
 *   when it is confirmed and its session is gone: a pending ref whose session is not there yet (a create in flight)
 *   is left to its score.
 * Stale refs are therefore bounded by their session's absolute deadline and the index's own TTL.
 */
import type { SessionContext } from './context.js'
import { INDEX_ADD, INDEX_CONFIRM, INDEX_READ, INDEX_REMOVE } from './scripts.js'
import { destroyStored } from './writes.js'

const PENDING = '0'
const CONFIRMED = '1'
/** An expected companion value matching either state of a digest. */
const ANY = '*'

/** One session of a user, as `listForUser` reports it. `ref` is not the session id and cannot be used as one. */
export interface SessionInfo {
  ref: string
  createdAt: Date
  lastActiveAt: Date
  expiresAt: Date
}

interface IndexEntry {
  ref: string
  value: string
  confirmed: boolean
  /** The session's digest, or undefined when the companion value is missing. */
  hash: string | undefined
}

export async function indexAdd(
  ctx: SessionContext,
  tag: string,
  ref: string,
  hash: string,
  score: number,
  now: number,
): Promise<void> {
  await ctx.connection.eval(INDEX_ADD, ctx.keys.indexKeys(tag), [now, ref, PENDING + hash, score])
}

/** Confirms a ref; a failure is reported (`index:error`), never thrown: the session operation has succeeded. */
export async function indexConfirm(ctx: SessionContext, tag: string, ref: string, hash: string): Promise<void> {
  try {
    await ctx.connection.eval(INDEX_CONFIRM, ctx.keys.indexKeys(tag), [ref, PENDING + hash, CONFIRMED + hash])
  } catch (error) {
    ctx.events.emit('index:error', { operation: 'confirm', error })
  }
}

/** Removes a ref if it still points at `hash` (either state); failures are reported, never thrown. */
export async function indexForget(ctx: SessionContext, ref: string, hash: string, operation: string): Promise<void> {
  const tag = ctx.keys.tagOfRef(ref)
  if (tag === undefined) return
  await removeRefs(ctx, tag, [[ref, ANY + hash]], operation)
}

async function removeRefs(
  ctx: SessionContext,
  tag: string,
  entries: ReadonlyArray<[string, string]>,
  operation: string,
): Promise<void> {
  if (entries.length === 0) return
  try {
    await ctx.connection.eval(INDEX_REMOVE, ctx.keys.indexKeys(tag), entries.flat())
  } catch (error) {
    ctx.events.emit('index:error', { operation, error })
  }
}

async function readIndex(ctx: SessionContext, tag: string, now: number): Promise<IndexEntry[]> {
  const flat = await ctx.connection.eval<string[]>(INDEX_READ, ctx.keys.indexKeys(tag), [now])
  const entries: IndexEntry[] = []
  for (let i = 0; i + 2 < flat.length; i += 3) {
    const value = flat[i + 2] as string
    entries.push({
      ref: flat[i] as string,
      value,
      confirmed: value.startsWith(CONFIRMED),
      hash: value.length > 1 ? value.slice(1) : undefined,
    })
  }
  return entries
}

/** The live sessions of a user, oldest first; confirmed refs whose session is gone are pruned on the way. */
export async function listForUser(ctx: SessionContext, userId: string, now: number): Promise<SessionInfo[]> {
  const tag = ctx.keys.userTag(userId)
  const entries = await readIndex(ctx, tag, now)
  const sessions: SessionInfo[] = []
  const stale: Array<[string, string]> = []
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.hash === undefined) return
      const key = ctx.keys.sessionKey(entry.hash)
      const [c, a, e, x, r] = await ctx.connection.run('session list', (client) =>
        client.hmget(key, 'c', 'a', 'e', 'x', 'r'),
      )
      const live = r === entry.ref && now < Number(e) && now < Number(x)
      if (live) {
        sessions.push({
          ref: entry.ref,
          createdAt: new Date(Number(c)),
          lastActiveAt: new Date(Number(a)),
          expiresAt: new Date(Number(e)),
        })
      } else if (entry.confirmed) stale.push([entry.ref, entry.value])
    }),
  )
  await removeRefs(ctx, tag, stale, 'prune')
  return sessions.sort((p, q) => p.createdAt.getTime() - q.createdAt.getTime())
}

/** Ends every session of a user but the one whose digest is `exceptHash`; resolves with how many were ended. */
export async function destroyAllForUser(
  ctx: SessionContext,
  userId: string,
  exceptHash: string | undefined,
  now: number,
): Promise<number> {
  const tag = ctx.keys.userTag(userId)
  const entries = await readIndex(ctx, tag, now)
  const done: Array<[string, string]> = []
  let ended = 0
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.hash === undefined || entry.hash === exceptHash) return
      const destroyed = await destroyStored(ctx, entry.hash, now, entry.ref)
      if (destroyed !== undefined) {
        ended++
        done.push([entry.ref, ANY + entry.hash])
      } else if (entry.confirmed) done.push([entry.ref, entry.value])
    }),
  )
  await removeRefs(ctx, tag, done, 'destroy all')
  return ended
}

/** Ends the session with this ref (only if it belongs to `userId`, when given). */
export async function destroyByRef(
  ctx: SessionContext,
  ref: string,
  userId: string | undefined,
  now: number,
): Promise<boolean> {
  const tag = ctx.keys.tagOfRef(ref)
  if (tag === undefined || (userId !== undefined && ctx.keys.userTag(userId) !== tag)) return false
  const [, refs] = ctx.keys.indexKeys(tag)
  const value = await ctx.connection.run('session index read', (client) => client.hget(refs, ref))
  if (value === null || value.length < 2) return false
  const hash = value.slice(1)
  const destroyed = await destroyStored(ctx, hash, now, ref)
  if (destroyed !== undefined) await removeRefs(ctx, tag, [[ref, ANY + hash]], 'destroy by ref')
  else if (value.startsWith(CONFIRMED)) await removeRefs(ctx, tag, [[ref, value]], 'prune')
  return destroyed !== undefined
}
