/** Memory faults: maxmemory below the data set with allkeys-lru (evictions), and below Redis's own overhead (OOM). */
import type { Fault, FaultContext } from '../fault.js'

function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info)
  return match === null ? 0 : Number(match[1])
}

async function restore(ctx: FaultContext): Promise<void> {
  await ctx.cli('config', 'set', 'maxmemory', '0')
  await ctx.cli('config', 'set', 'maxmemory-policy', 'noeviction')
}

export const evictions: Fault = {
  name: 'maxmemory, allkeys-lru',
  description:
    'maxmemory set to what Redis uses minus half of its data set, with allkeys-lru: entries, tag keys and leases are evicted under the workload',
  allowance: 'bus',
  dataSurvives: false,
  async run(ctx) {
    const memory = await ctx.cli('info', 'memory')
    const used = infoField(memory, 'used_memory')
    const dataset = infoField(memory, 'used_memory_dataset')
    const evictedBefore = infoField(await ctx.cli('info', 'stats'), 'evicted_keys')
    await ctx.cli('config', 'set', 'maxmemory-policy', 'allkeys-lru')
    await ctx.cli('config', 'set', 'maxmemory', String(Math.max(1, used - Math.floor(dataset / 2))))
    try {
      await ctx.sleep(ctx.holdMs)
    } finally {
      await restore(ctx)
    }
    const evicted = infoField(await ctx.cli('info', 'stats'), 'evicted_keys') - evictedBefore
    ctx.phase.notes.push(
      `maxmemory ${used - Math.floor(dataset / 2)} B (data set ${dataset} B): ${evicted} keys evicted`,
    )
  },
}

export const oom: Fault = {
  name: 'maxmemory below overhead (OOM)',
  description: 'maxmemory 1 byte with noeviction: every write is refused with OOM, reads go on',
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    await ctx.cli('config', 'set', 'maxmemory-policy', 'noeviction')
    await ctx.cli('config', 'set', 'maxmemory', '1')
    try {
      await ctx.sleep(ctx.holdMs)
    } finally {
      await restore(ctx)
    }
  },
}
