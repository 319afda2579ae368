/**
 * The facade against a model: random sequences of set, get, getMany, has, delete, getOrSet, setMany, expire, incr
 * and invalidateTags, with random values (every kind the codec promises), odd keys, TTLs down to a few ms and
 * tags, run on an L1-only cache and on two nodes sharing a real Redis (every operation on either node; after a
 * write, the other node is synced with the bus before the next step). After every step, what the cache answers
 * must be what the model says, on every node. Counterexamples are shrunk to the shortest failing sequence.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { makeCache, makeNode, synced } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { ODD_KEYS, roundTripValue, TAGS } from './arbitraries.js'

/** What the model holds for a key: its value, tags, and when it expires (a window, since a write takes time). */
interface Entry {
  value: unknown
  tags: readonly string[]
  /** Before this, the entry must be there (its TTL counted from the start of the write). */
  aliveUntil: number
  /** After this, it must be gone (its TTL counted from the end of the write, plus slack). */
  goneAfter: number
}

interface Model {
  entries: Map<string, Entry>
  /**
   * Keys whose entry a tag invalidation removed. Their bytes stay in Redis (invalidateTags writes the tag's time,
   * it does not scan), so `expire` there answers for the Redis key: true or false are both taken, as long as the
   * entry stays invisible to every read.
   */
  invalidatedByTag: Set<string>
}

interface Real {
  nodes: Cache[]
}

/** Slack for "must be gone": timers, lru-cache's clock, Redis PX. */
const EXPIRY_SLACK_MS = 15
const COUNTERS = ['counter:a', 'counter:b'] as const

const key = fc.constantFrom(...ODD_KEYS)
const ttl = fc.oneof(fc.constant(undefined), fc.integer({ min: 5, max: 40 }), fc.constant(600_000))
const tags = fc.subarray([...TAGS], { maxLength: 2 })
const node = fc.nat(1)

type Check = 'present' | 'absent' | 'either'

function expectation(entry: Entry | undefined, readStart: number, readEnd: number): Check {
  if (entry === undefined || readStart > entry.goneAfter) return 'absent'
  return readEnd < entry.aliveUntil ? 'present' : 'either'
}

function verify(what: string, got: unknown, entry: Entry | undefined, check: Check): void {
  if (check === 'present') expect(got, what).toEqual(entry?.value)
  else if (check === 'absent') expect(got, what).toBeUndefined()
  else if (got !== undefined) expect(got, what).toEqual(entry?.value)
}

async function write(
  model: Model,
  k: string,
  value: unknown,
  t: number | undefined,
  entryTags: readonly string[],
  run: () => Promise<unknown>,
): Promise<void> {
  const start = Date.now()
  await run()
  const life = t ?? 600_000
  model.invalidatedByTag.delete(k)
  model.entries.set(k, {
    value,
    tags: entryTags,
    aliveUntil: start + life,
    goneAfter: Date.now() + life + EXPIRY_SLACK_MS,
  })
}

/** After a write on `writer`, wait until every other node heard of it. */
async function settle(real: Real, writer: Cache): Promise<void> {
  for (const other of real.nodes) if (other !== writer) await synced(writer, other)
}

const commands = (nodes: number): fc.Arbitrary<Iterable<fc.AsyncCommand<Model, Real>>> => {
  const on = nodes === 1 ? fc.constant(0) : node
  const at = (real: Real, n: number): Cache => real.nodes[n % real.nodes.length] as Cache
  return fc.commands(
    [
      fc
        .record({ k: key, value: roundTripValue(2).filter((v) => v !== undefined), t: ttl, tg: tags, n: on })
        .map(({ k, value, t, tg, n }) => ({
          check: () => true,
          async run(model: Model, real: Real) {
            const cache = at(real, n)
            await write(model, k, value, t, tg, () =>
              cache.set(k, value, { ...(t !== undefined && { ttl: t }), tags: tg }),
            )
            await settle(real, cache)
          },
          toString: () => `set(${JSON.stringify(k.slice(0, 12))}, ttl ${t}, tags ${tg}) on ${n}`,
        })),
      fc.record({ k: key, n: on }).map(({ k, n }) => ({
        check: () => true,
        async run(model: Model, real: Real) {
          const start = Date.now()
          const got = await at(real, n).get(k)
          const entry = model.entries.get(k)
          verify(`get ${JSON.stringify(k.slice(0, 12))} on ${n}`, got, entry, expectation(entry, start, Date.now()))
        },
        toString: () => `get(${JSON.stringify(k.slice(0, 12))}) on ${n}`,
      })),
      fc.record({ ks: fc.uniqueArray(key, { minLength: 1, maxLength: 4 }), n: on }).map(({ ks, n }) => ({
        check: () => true,
        async run(model: Model, real: Real) {
          const start = Date.now()
          const got = await at(real, n).getMany(ks)
          const end = Date.now()
          ks.forEach((k, i) =>
            verify(
              `getMany[${i}] on ${n}`,
              got[i],
              model.entries.get(k),
              expectation(model.entries.get(k), start, end),
            ),
          )
        },
        toString: () => `getMany(${ks.length} keys) on ${n}`,
      })),
      fc.record({ k: key, n: on }).map(({ k, n }) => ({
        check: () => true,
        async run(model: Model, real: Real) {
          const cache = at(real, n)
          await cache.delete(k)
          model.entries.delete(k)
          model.invalidatedByTag.delete(k)
          await settle(real, cache)
        },
        toString: () => `delete(${JSON.stringify(k.slice(0, 12))}) on ${n}`,
      })),
      fc
        .record({ k: key, value: roundTripValue(1).filter((v) => v !== undefined), t: ttl, tg: tags, n: on })
        .map(({ k, value, t, tg, n }) => ({
          check: () => true,
          async run(model: Model, real: Real) {
            const cache = at(real, n)
            const start = Date.now()
            let ran = false
            const got = await cache.getOrSet(k, () => ((ran = true), value), {
              ...(t !== undefined && { ttl: t }),
              tags: tg,
            })
            const entry = model.entries.get(k)
            const check = expectation(entry, start, Date.now())
            if (ran) {
              expect(check, `getOrSet ${JSON.stringify(k.slice(0, 12))} ran its factory over a live entry`).not.toBe(
                'present',
              )
              expect(got).toBe(value)
              model.invalidatedByTag.delete(k)
              model.entries.set(k, {
                value,
                tags: tg,
                aliveUntil: start + (t ?? 600_000),
                goneAfter: Date.now() + (t ?? 600_000) + EXPIRY_SLACK_MS,
              })
              await settle(real, cache)
            } else {
              expect(
                check,
                `getOrSet ${JSON.stringify(k.slice(0, 12))} returned a value the model does not have`,
              ).not.toBe('absent')
              expect(got).toEqual(entry?.value)
            }
          },
          toString: () => `getOrSet(${JSON.stringify(k.slice(0, 12))}, ttl ${t}) on ${n}`,
        })),
      fc.record({ tag: fc.constantFrom(...TAGS), n: on }).map(({ tag, n }) => ({
        check: () => true,
        async run(model: Model, real: Real) {
          const cache = at(real, n)
          await cache.invalidateTags([tag])
          for (const [k, entry] of model.entries)
            if (entry.tags.includes(tag)) {
              model.entries.delete(k)
              model.invalidatedByTag.add(k)
            }
          await settle(real, cache)
        },
        toString: () => `invalidateTags(${tag}) on ${n}`,
      })),
      fc.record({ k: key, t: fc.integer({ min: 5, max: 40 }), n: on }).map(({ k, t, n }) => ({
        check: () => true,
        async run(model: Model, real: Real) {
          const cache = at(real, n)
          const start = Date.now()
          const existed = await cache.expire(k, t)
          const entry = model.entries.get(k)
          const check = expectation(entry, start, Date.now())
          if (check !== 'either' && !model.invalidatedByTag.has(k))
            expect(existed, `expire ${JSON.stringify(k.slice(0, 12))}`).toBe(check === 'present')
          if (existed && entry !== undefined)
            model.entries.set(k, { ...entry, aliveUntil: start + t, goneAfter: Date.now() + t + EXPIRY_SLACK_MS })
          else model.entries.delete(k)
          await settle(real, cache)
        },
        toString: () => `expire(${JSON.stringify(k.slice(0, 12))}, ${t}) on ${n}`,
      })),
      fc
        .record({ k: fc.constantFrom(...COUNTERS), by: fc.integer({ min: -5, max: 5 }), n: on })
        .map(({ k, by, n }) => ({
          check: () => true,
          async run(model: Model, real: Real) {
            const cache = at(real, n)
            const before = (model.entries.get(k)?.value as number | undefined) ?? 0
            expect(await cache.incr(k, by)).toBe(before + by)
            model.entries.set(k, { value: before + by, tags: [], aliveUntil: Infinity, goneAfter: Infinity })
            await settle(real, cache)
          },
          toString: () => `incr(${k}, ${by}) on ${n}`,
        })),
      fc.integer({ min: 1, max: 25 }).map((ms) => ({
        check: () => true,
        async run() {
          await new Promise((resolve) => setTimeout(resolve, ms))
        },
        toString: () => `wait ${ms} ms`,
      })),
    ],
    { maxCommands: 30 },
  )
}

async function runModel(nodes: () => Promise<Cache[]>, cmds: Iterable<fc.AsyncCommand<Model, Real>>): Promise<void> {
  const real = { nodes: await nodes() }
  try {
    await fc.asyncModelRun(() => ({ model: { entries: new Map(), invalidatedByTag: new Set<string>() }, real }), cmds)
  } finally {
    await Promise.all(real.nodes.map((c) => c.close()))
  }
}

describe('the facade against a model', () => {
  it("L1 only: every answer is the model's", async () => {
    await fc.assert(
      fc.asyncProperty(commands(1), (cmds) => runModel(async () => [makeCache({ namespace: 'model' })], cmds)),
      { numRuns: 200, interruptAfterTimeLimit: 5000 },
    )
  })

  describe('two nodes on a real Redis', () => {
    const redis = useRedis({ flush: false })
    let run = 0

    it("every answer, on either node, is the model's", async () => {
      await fc.assert(
        fc.asyncProperty(commands(2), (cmds) => {
          const namespace = `model${++run}`
          return runModel(
            () => Promise.all([makeNode(redis.url, { namespace }), makeNode(redis.url, { namespace })]),
            cmds,
          )
        }),
        { numRuns: 80, interruptAfterTimeLimit: 10_000 },
      )
    })
  })
})
