/** Faults of the redis-server process itself: a crash (kill -9, then a restart with nothing persisted) and a freeze. */
import type { Fault } from '../fault.js'

export const steady: Fault = {
  name: 'steady (no fault)',
  description: 'the workload alone: the baseline every other row is compared with',
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    await ctx.sleep(ctx.holdMs)
  },
}

export const killRestart: Fault = {
  name: 'kill -9, restart',
  description: 'redis-server is killed with SIGKILL, stays down for the hold time, and restarts empty on its port',
  allowance: 'deaf',
  dataSurvives: false,
  async run(ctx) {
    await ctx.server.kill()
    await ctx.sleep(ctx.holdMs)
    await ctx.server.restart()
  },
}

export const freeze: Fault = {
  name: 'SIGSTOP / SIGCONT',
  description: 'redis-server is frozen with SIGSTOP (connections stay open, nothing answers), then resumed',
  allowance: 'silent',
  dataSurvives: true,
  async run(ctx) {
    ctx.server.freeze()
    try {
      await ctx.sleep(ctx.holdMs)
    } finally {
      ctx.server.thaw()
    }
  },
}
