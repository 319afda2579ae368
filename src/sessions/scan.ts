/**
 * Walking every session: SCAN on every master (`RedisConnection.scan`), then one command per key, so no command
 * ever spans two hash slots on a Redis Cluster. For express-session's `all`, `length` and `clear`.
 */
import type { SessionContext } from './context.js'
import { pairsOf, readSession, type StoredSession } from './record.js'

/** Every live session (tombstones and expired ones skipped; garbage reported). */
export async function* liveSessions(ctx: SessionContext): AsyncGenerator<StoredSession> {
  for await (const { keys } of ctx.connection.scan(ctx.keys.sessionPattern)) {
    const now = ctx.options.now()
    const replies = await Promise.all(
      keys.map((key) => ctx.connection.run('session scan', (client) => client.hgetallBuffer(key))),
    )
    for (const reply of replies) {
      const read = readSession(pairsOf(reply), now)
      if (read.state === 'live') yield read.session
      else if (read.state === 'garbage') ctx.events.emit('session:garbage', { reason: read.reason })
    }
  }
}

export async function countLive(ctx: SessionContext): Promise<number> {
  let count = 0
  for await (const { keys } of ctx.connection.scan(ctx.keys.sessionPattern)) {
    const now = ctx.options.now()
    const metas = await Promise.all(
      keys.map((key) => ctx.connection.run('session scan', (client) => client.hmget(key, 'e', 'x'))),
    )
    for (const [e, x] of metas) if (now < Number(e) && now < Number(x)) count++
  }
  return count
}

/** Deletes every session key (tombstones too) and every user index of the prefix; resolves with how many keys. */
export async function clearAll(ctx: SessionContext): Promise<number> {
  let deleted = 0
  for (const pattern of [ctx.keys.sessionPattern, ctx.keys.indexPattern]) {
    for await (const { keys } of ctx.connection.scan(pattern)) {
      const counts = await Promise.all(
        keys.map((key) => ctx.connection.run('session clear', (client) => client.unlink(key))),
      )
      for (const n of counts) deleted += n
    }
  }
  return deleted
}
