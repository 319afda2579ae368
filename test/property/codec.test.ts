/**
 * Properties of the codecs (DESIGN.md point 8): every value the msgpack codec promises comes back equal, circular
 * data included; values it cannot carry are refused with a TypeError, never silently changed; JSON carries JSON.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonCodec, msgpackCodec } from '../../src/index.js'
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
})
