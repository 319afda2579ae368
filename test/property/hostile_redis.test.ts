/**
 * Hostile inputs against a real Redis (ARCHITECTURE.md, contract point 9): huge and odd keys, deep nesting, values over the
 * size limit, and whatever else may sit under our keys (random bytes, truncated entries, a valid header before
 * bytes that are not ours, invalid UTF-8 inside a well-formed envelope, msgpack nested beyond any stack). A read
 * is a value the cache wrote, a counter (a plain integer, as incr writes), or a miss plus `decode:error`; nothing
 * throws, nothing is polluted, and getOrSet replaces the garbage.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expectedFailure } from '../../chaos/expected_failures.js'
import { encodeEntry, HEADER_BYTES } from '../../src/codec/envelope.js'
import { msgpackCodec, type Cache } from '../../src/index.js'
import { redisKeyOf } from '../../src/seam.js'
import { makeCache, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'
import { roundTripValue, wellFormed } from './arbitraries.js'

const redis = useRedis({ flush: false })
const codec = msgpackCodec()
let namespaceRun = 0

/** A writer and a reader without L1 (every read goes to Redis), in a namespace of their own. */
function pair(): { writer: Cache; reader: Cache } {
  const namespace = `hostile${++namespaceRun}`
  return {
    writer: makeCache({ redis: redis.url, namespace, bus: false }),
    reader: makeCache({ redis: redis.url, namespace, bus: false, l1: false }),
  }
}

/** An envelope with a valid checksum around `payload`: what someone who knows the format could forge. */
const forged = (payload: Uint8Array): Buffer =>
  encodeEntry({ name: 'forged', encode: () => payload, decode: codec.decode }, null, 0, undefined)

/** `it`, or `it.fails` when the check is listed in chaos/expected_failures.ts (the reason is in the name). */
function checked(name: string, fn: () => Promise<void>, timeout?: number): void {
  const reason = expectedFailure(`property/${name}`)
  if (reason === undefined) it(name, fn, timeout)
  else it.fails(`${name} [expected to fail until fixed: ${reason}; when it passes, delete its line]`, fn, timeout)
}

describe('hostile inputs, on a real Redis', () => {
  it('any well-formed key up to maxKeyBytes works; a longer one is a TypeError and nothing is written', async () => {
    const { writer, reader } = pair()
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', minLength: 1, maxLength: 700 }).filter(wellFormed), async (key) => {
        const bytes = Buffer.byteLength(key)
        if (bytes > 1024) {
          await expect(writer.set(key, 1)).rejects.toThrow(TypeError)
          expect(await redis.raw.exists(redisKeyOf(writer, key))).toBe(0)
        } else {
          await writer.set(key, { key })
          expect(await reader.get(key)).toEqual({ key })
        }
      }),
      { numRuns: 150, interruptAfterTimeLimit: 5000 },
    )
  })

  checked('distinct keys never read each other’s values; a key with a lone surrogate is a TypeError', async () => {
    const { writer, reader } = pair()
    const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))
    const keyPart = fc.oneof(fc.string({ maxLength: 3 }), surrogate)
    const key = fc.array(keyPart, { minLength: 1, maxLength: 3 }).map((parts) => `k${parts.join('')}`)
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(key, { minLength: 2, maxLength: 2 }), async ([a, b]) => {
        // Redis would store every lone surrogate as U+FFFD, merging distinct keys: such keys are refused.
        for (const k of [a, b] as string[])
          if (!wellFormed(k)) {
            await expect(writer.set(k, 'x')).rejects.toThrow(/well-formed/)
            await expect(reader.get(k)).rejects.toThrow(TypeError)
            return
          }
        await writer.delete(a as string)
        await writer.delete(b as string)
        await writer.set(a as string, 'a')
        expect(await reader.get(b as string)).toBeUndefined()
      }),
      { numRuns: 200, interruptAfterTimeLimit: 5000 },
    )
  })

  it('a deeply nested value is stored and read back, or refused with a TypeError and nothing written', async () => {
    const { writer, reader } = pair()
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom('array', 'object', 'map'),
        async (depth, kind) => {
          let value: unknown = 'leaf'
          for (let i = 0; i < depth; i++)
            value = kind === 'array' ? [value] : kind === 'object' ? { v: value } : new Map([['v', value]])
          const key = `deep:${kind}:${depth}`
          try {
            await writer.set(key, value)
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError)
            expect(await reader.get(key)).toBeUndefined()
            return
          }
          // Walked down by hand: a recursive deep equality would itself run out of stack here.
          let back = await reader.get(key)
          for (let i = 0; i < depth; i++) {
            if (kind === 'array') back = (back as unknown[])[0]
            else if (kind === 'object') back = (back as { v: unknown }).v
            else back = (back as Map<string, unknown>).get('v')
          }
          expect(back).toBe('leaf')
        },
      ),
      { numRuns: 40, interruptAfterTimeLimit: 6000 },
    )
  })

  it('a value over maxValueBytes is refused with E_VALUE_TOO_LARGE and what was there stays', async () => {
    const namespace = `hostile${++namespaceRun}`
    const writer = makeCache({ redis: redis.url, namespace, bus: false, maxValueBytes: 2048 })
    const reader = makeCache({ redis: redis.url, namespace, bus: false, l1: false })
    await writer.set('k', 'before')
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2100, max: 50_000 }), async (size) => {
        await expect(writer.set('k', 'x'.repeat(size))).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
        expect(await reader.get('k')).toBe('before')
        expect(await writer.get('k')).toBe('before')
      }),
      { numRuns: 30 },
    )
  })

  it('whatever sits under a key, a read is a value tiercache wrote or a miss with decode:error; getOrSet replaces it', async () => {
    const { writer, reader } = pair()
    const real = await (async () => {
      await writer.set('real', { list: Array.from({ length: 40 }, (_, i) => ({ i, s: `é${i}` })) }, { tags: ['t'] })
      return (await redis.raw.getBuffer(redisKeyOf(writer, 'real'))) as Buffer
    })()
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 100 }).map((b) => ({ kind: 'random bytes', bytes: Buffer.from(b) })),
      fc.nat({ max: real.length - 1 }).map((n) => ({ kind: 'truncated', bytes: real.subarray(0, n) })),
      fc
        .uint8Array({ minLength: 1, maxLength: 60 })
        .map((b) => ({ kind: 'header + not ours', bytes: Buffer.concat([real.subarray(0, HEADER_BYTES), b]) })),
      // A msgpack str of invalid UTF-8 (0xc3 0x28, lone continuation bytes…) in a well-formed envelope.
      fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => ({
        kind: 'invalid UTF-8 in a forged envelope',
        bytes: forged(Buffer.concat([Buffer.from([0xd9, b.length + 2, 0xc3, 0x28]), b])),
      })),
      fc.integer({ min: 10_000, max: 200_000 }).map((depth) => ({
        kind: 'msgpack nested beyond the stack, in a forged envelope',
        bytes: forged(Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0xc0])])),
      })),
    )
    await fc.assert(
      fc.asyncProperty(garbage, async ({ kind, bytes }) => {
        await redis.raw.set(redisKeyOf(reader, 'k'), bytes)
        const event = nextEvent(reader, 'decode:error', () => true, 1000).then(
          () => true,
          () => false,
        )
        const got = await reader.get('k')
        if (got !== undefined) {
          // Two things may decode: a plain integer (what incr writes: a counter, by design) and a forged envelope
          // (its checksum is valid: nothing tells it from one of ours, and the codec may carry what it holds).
          const counter = /^-?\d{1,20}$/.test(bytes.toString('latin1'))
          if (counter) expect(got).toBe(Number(bytes.toString('latin1')))
          else expect(kind, `${kind} decoded as ${typeof got}`).toMatch(/forged envelope/)
        } else {
          expect(await event, `${kind}: a miss without decode:error`).toBe(true)
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(await reader.getOrSet('k', () => 'fresh')).toBe(got ?? 'fresh')
      }),
      { numRuns: 80, interruptAfterTimeLimit: 8000 },
    )
  })

  it('random values written by one node read back equal on another (through Redis)', async () => {
    const { writer, reader } = pair()
    await fc.assert(
      fc.asyncProperty(
        roundTripValue(3).filter((v) => v !== undefined),
        async (value) => {
          await writer.set('v', value)
          expect(await reader.get('v')).toEqual(value)
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: 5000 },
    )
  })
})
