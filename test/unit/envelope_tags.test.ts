import { describe, expect, it } from 'vitest'
import { msgpackCodec } from '../../src/codec/codec.js'
import { carriesTags, decodeEntry, encodeEntry, peekTags } from '../../src/codec/envelope.js'
import { stamp } from '../../src/internal/clock.js'

describe('envelope: createdAt for tag checks', () => {
  const codec = msgpackCodec()

  it('stores createdAt with tags and reads it back without decoding the payload', () => {
    const raw = encodeEntry(codec, { a: 1 }, 123, ['x', 'y'], 1000.25)
    expect(carriesTags(raw)).toBe(true)
    expect(peekTags(raw)).toEqual({ createdAt: 1000.25, tags: ['x', 'y'] })
    expect(decodeEntry(codec, raw)).toEqual({
      value: { a: 1 },
      expiresAt: 123,
      tags: ['x', 'y'],
      createdAt: 1000.25,
      counter: false,
      checksum: expect.any(Number) as number,
    })
  })

  it('leaves untagged entries as they were (no createdAt, same size)', () => {
    const raw = encodeEntry(codec, 'v', 0, undefined)
    expect(carriesTags(raw)).toBe(false)
    expect(peekTags(raw)).toBeUndefined()
    expect(decodeEntry(codec, raw)).toEqual({
      value: 'v',
      expiresAt: 0,
      tags: undefined,
      counter: false,
      checksum: expect.any(Number) as number,
    })
    expect(carriesTags(null)).toBe(false)
    expect(carriesTags(Buffer.from('12'))).toBe(false)
  })

  it('treats a truncated tag header as garbage', () => {
    const raw = encodeEntry(codec, 'v', 0, ['t'])
    expect(peekTags(raw.subarray(0, 19))).toBeUndefined()
    expect(() => decodeEntry(codec, raw.subarray(0, 19))).toThrow()
  })

  it('stamps strictly increasing sub-millisecond times', () => {
    let previous = stamp()
    for (let i = 0; i < 1000; i++) {
      const next = stamp()
      expect(next).toBeGreaterThan(previous)
      previous = next
    }
    expect(Math.abs(stamp() - Date.now())).toBeLessThan(50)
  })
})
