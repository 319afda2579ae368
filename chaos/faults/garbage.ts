/**
 * Garbage written behind the caches' backs, straight into Redis: under entry keys (derived from real entries,
 * so a valid header is followed by bytes that are not ours: random, a foreign msgpack map trying `__proto__`,
 * a truncation, one flipped byte; or not ours at all) and under tag keys (not a time, or deleted as an eviction
 * would). Every read must stay a version the workload wrote, or a miss: never a wrong value, never a stale one.
 * Key names are those of ARCHITECTURE.md, "Redis keys".
 */
import { pack } from 'msgpackr'
import type { Fault, FaultContext } from '../fault.js'
import { keyName } from '../workloads/cache/driver.js'
import { entryKey, tagKey } from '../workloads/cache/redis_keys.js'

const EVERY_MS = 30
const HEADER_BYTES = 16

type Spoil = (real: Buffer, ctx: FaultContext) => Buffer

/** `n` bytes from the run's seeded generator, so that `--seed` replays the same garbage. */
function randomBytes(n: number, ctx: FaultContext): Buffer {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = ctx.rng.int(256)
  return out
}

const FOREIGN_MAP = pack(
  JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"p": 1}}, "version": 1}'),
)

const ENTRY_GARBAGE: Record<string, Spoil> = {
  'random bytes': (_real, ctx) => randomBytes(1 + ctx.rng.int(64), ctx),
  'plain text': () => Buffer.from('written by another app'),
  'header + random bytes': (real, ctx) =>
    Buffer.concat([real.subarray(0, HEADER_BYTES), randomBytes(1 + ctx.rng.int(32), ctx)]),
  'header + foreign __proto__ map': (real) => Buffer.concat([real.subarray(0, HEADER_BYTES), FOREIGN_MAP]),
  truncated: (real, ctx) => real.subarray(0, ctx.rng.int(real.length)),
  'one byte flipped': (real, ctx) => {
    const copy = Buffer.from(real)
    const at = HEADER_BYTES + ctx.rng.int(Math.max(1, copy.length - HEADER_BYTES))
    if (at < copy.length) copy[at] = (copy[at] as number) ^ (1 << ctx.rng.int(8))
    return copy
  },
}

const TAG_GARBAGE: Record<string, (ctx: FaultContext) => Buffer | undefined> = {
  'not a time': () => Buffer.from('garbage'),
  'random bytes': (ctx) => randomBytes(1 + ctx.rng.int(16), ctx),
  negative: () => Buffer.from('-1'),
  empty: () => Buffer.alloc(0),
  'deleted (as evicted)': () => undefined,
}

export const entryGarbage: Fault = {
  name: 'garbage under entry keys',
  description: `every ${EVERY_MS} ms one entry is overwritten in Redis by: ${Object.keys(ENTRY_GARBAGE).join(', ')}`,
  allowance: 'bus',
  dataSurvives: false,
  async run(ctx) {
    const kinds = Object.entries(ENTRY_GARBAGE)
    const done: Record<string, number> = {}
    const until = performance.now() + ctx.holdMs
    while (performance.now() < until) {
      const key = entryKey(keyName(ctx.rng.int(ctx.driver.config.keys)))
      const real = await ctx.raw.getBuffer(key)
      if (real !== null && real.length > HEADER_BYTES && real.subarray(0, 2).toString('latin1') === 'TC') {
        const [name, spoil] = ctx.rng.pick(kinds)
        await ctx.raw.set(key, spoil(real, ctx))
        done[name] = (done[name] ?? 0) + 1
      }
      await ctx.sleep(EVERY_MS)
    }
    ctx.phase.notes.push(`entries spoiled: ${JSON.stringify(done)}`)
  },
}

export const tagGarbage: Fault = {
  name: 'garbage under tag keys',
  description: `every ${EVERY_MS} ms one tag key is overwritten by (or removed as): ${Object.keys(TAG_GARBAGE).join(', ')}`,
  allowance: 'bus',
  dataSurvives: false,
  async run(ctx) {
    const kinds = Object.entries(TAG_GARBAGE)
    const done: Record<string, number> = {}
    const until = performance.now() + ctx.holdMs
    while (performance.now() < until) {
      const tag = tagKey(ctx.driver.groupOf(ctx.rng.int(ctx.driver.config.groups)))
      const [name, make] = ctx.rng.pick(kinds)
      const bytes = make(ctx)
      if (bytes === undefined) await ctx.raw.del(tag)
      else await ctx.raw.set(tag, bytes)
      done[name] = (done[name] ?? 0) + 1
      await ctx.sleep(EVERY_MS)
    }
    ctx.phase.notes.push(`tag keys spoiled: ${JSON.stringify(done)}`)
  },
}
