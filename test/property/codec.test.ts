/**
 * Properties of the codecs (ARCHITECTURE.md, contract point 8): every value the msgpack codec promises comes back equal, circular
 * data included; values it cannot carry are refused with a TypeError, never silently changed; JSON carries JSON.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonCodec, msgpackCodec } from '../../src/index.js'
import { MAX_DEPTH } from '../../src/codec/codec.js'
import { circularValue, hostileObject, roundTripValue } from './arbitraries.js'

const msgpack = msgpackCodec()
const json = jsonCodec()
const RUNS = { numRuns: 300, interruptAfterTimeLimit: 4000 }

describe('codec properties', () => {
  it('msgpack: every value the codec promises comes back equal', () => {
    fc.assert(
      fc.property(roundTripValue(), (value) => {
        expect(msgpack.decode(msgpack.encode(value))).toEqual(value)
      }),
      RUNS,
    )
  })

  it('msgpack: circular data comes back with the same shape of references', () => {
    fc.assert(
      fc.property(circularValue, (value) => {
        const back = msgpack.decode(msgpack.encode(value)) as Record<string, unknown>
        expect(back.self).toBe(back)
        expect((back.list as unknown[])[0]).toBe(back)
        expect((back.map as Map<string, unknown>).get('back')).toBe(back)
        expect(back.name).toBe((value as Record<string, unknown>).name)
        expect(back.items).toEqual((value as Record<string, unknown>).items)
      }),
      { numRuns: 100 },
    )
  })

  it('msgpack: __proto__ and constructor keys stay data; nothing reaches Object.prototype', () => {
    fc.assert(
      fc.property(hostileObject, (value) => {
        const back = msgpack.decode(msgpack.encode(value)) as Record<string, unknown>
        expect([Object.prototype, null].includes(Object.getPrototypeOf(back) as object)).toBe(true)
        expect(back.a).toBe(value.a)
        expect(back.constructor).toEqual(value.constructor)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false)
      }),
      { numRuns: 100 },
    )
  })

  it('msgpack: functions and symbols are refused with a TypeError, wherever they hide', () => {
    const poison = fc.constantFrom<unknown>(
      () => 1,
      Symbol('s'),
      function named() {},
    )
    fc.assert(
      fc.property(poison, fc.array(fc.constantFrom('a', 'list', 'map'), { maxLength: 3 }), (bad, path) => {
        let value: unknown = bad
        for (const step of path)
          value = step === 'a' ? { a: value } : step === 'list' ? [value] : new Map([['k', value]])
        expect(() => msgpack.encode(value)).toThrow(TypeError)
      }),
      { numRuns: 100 },
    )
  })

  it('json: JSON values come back equal', () => {
    // -0 is not JSON (it prints as 0): the generator's values go through JSON once to be JSON values.
    const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown)
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(json.decode(json.encode(value))).toEqual(value)
      }),
      RUNS,
    )
  })

  it('msgpack: a value nested 500 deep comes back; one level deeper is a TypeError that says why', () => {
    const nest = (depth: number, kind: 'array' | 'object' | 'map'): unknown => {
      let value: unknown = 'leaf'
      for (let i = 0; i < depth; i++)
        value = kind === 'array' ? [value] : kind === 'object' ? { v: value } : new Map([['v', value]])
      return value
    }
    for (const kind of ['array', 'object', 'map'] as const) {
      let back = msgpack.decode(msgpack.encode(nest(MAX_DEPTH, kind)))
      for (let i = 0; i < MAX_DEPTH; i++)
        back =
          kind === 'array'
            ? (back as unknown[])[0]
            : kind === 'object'
              ? (back as { v: unknown }).v
              : (back as Map<string, unknown>).get('v')
      expect(back).toBe('leaf')
      expect(() => msgpack.encode(nest(MAX_DEPTH + 1, kind))).toThrow(/nested more than 500 levels deep/)
      // The depth at which msgpackr wrote a Map it could not read back (Node 24); arrays overflow it while writing.
      expect(() => msgpack.encode(nest(6487, kind))).toThrow(TypeError)
    }
  })

  it('json: a value too deep for JSON.stringify is a TypeError, not a RangeError', () => {
    let value: unknown = 'leaf'
    for (let i = 0; i < 200_000; i++) value = [value]
    expect(() => json.encode(value)).toThrow(TypeError)
  })
})
