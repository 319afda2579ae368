/** Faults made with Redis's own client commands: CLIENT PAUSE (all commands, or writes only) and CLIENT KILL. */
import type { Fault, FaultContext } from '../fault.js'

/** How often CLIENT KILL is repeated while a kill fault holds (L1 refills in between: see the revalidation check). */
const KILL_EVERY_MS = 1000

export const pauseAll: Fault = {
  name: 'CLIENT PAUSE ALL',
  description: 'CLIENT PAUSE <hold> ALL: every command of every client waits (the subscriber does not answer its PING)',
  allowance: 'silent',
  dataSurvives: true,
  async run(ctx) {
    await ctx.cli('client', 'pause', String(ctx.holdMs), 'ALL')
    await ctx.sleep(ctx.holdMs)
  },
}

export const pauseWrite: Fault = {
  name: 'CLIENT PAUSE WRITE',
  description: 'CLIENT PAUSE <hold> WRITE: writes, scripts and PUBLISH wait, reads go on',
  allowance: 'silent',
  dataSurvives: true,
  async run(ctx) {
    await ctx.cli('client', 'pause', String(ctx.holdMs), 'WRITE')
    await ctx.sleep(ctx.holdMs)
  },
}

async function killRepeatedly(ctx: FaultContext, type: 'pubsub' | 'normal'): Promise<void> {
  const until = performance.now() + ctx.holdMs
  let kills = 0
  while (performance.now() < until) {
    kills += Number(await ctx.cli('client', 'kill', 'type', type)) || 0
    await ctx.sleep(KILL_EVERY_MS)
  }
  ctx.phase.notes.push(`${kills} ${type} connections killed`)
}

export const killSubscribers: Fault = {
  name: 'CLIENT KILL pubsub',
  description: `CLIENT KILL TYPE pubsub every ${KILL_EVERY_MS} ms: every bus subscriber (and lock waiter) is cut`,
  allowance: 'deaf',
  dataSurvives: true,
  run: (ctx) => killRepeatedly(ctx, 'pubsub'),
}

export const killNormal: Fault = {
  name: 'CLIENT KILL normal',
  description: `CLIENT KILL TYPE normal every ${KILL_EVERY_MS} ms: every command connection is cut`,
  allowance: 'bus',
  dataSurvives: true,
  run: (ctx) => killRepeatedly(ctx, 'normal'),
}
