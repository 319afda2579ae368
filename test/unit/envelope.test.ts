import { describe, expect, it } from 'vitest'
import { msgpackCodec } from '../../src/codec/codec.js'
import { decodeEntry, encodeEntry, EnvelopeError } from '../../src/codec/envelope.js'

const codec = msgpackCodec()

describe('envelope', () => {
  it('round trips value, logical expiry and tags', () => {
    const bytes = encodeEntry(codec, { a: 1 }, 1234.5, ['t1', 'tag two'])
    expect(decodeEntry(codec, bytes)).toMatchObject({
      value: { a: 1 },
      expiresAt: 1234.5,
      tags: ['t1', 'tag two'],
      counter: false,
    })
  })

  it('copies the payload: msgpackr reuses its output buffer', () => {
    const first = encodeEntry(codec, 'first', 0, undefined)
    encodeEntry(codec, 'second value that would overwrite a shared buffer', 0, undefined)
    expect(decodeEntry(codec, first).value).toBe('first')
  })

  it('reads plain Redis integers (counters) as numbers', () => {
    expect(decodeEntry(codec, Buffer.from('-42'))).toMatchObject({ value: -42, counter: true })
  })

  it('rejects a decoded object of an unknown kind (a forged prototype)', () => {
    const forged = { decode: () => Object.create({ evil: true }) as unknown, encode: codec.encode, name: 'forged' }
    expect(() => decodeEntry(forged, encodeEntry(codec, 1, 0, undefined))).toThrow(EnvelopeError)
  })

  it('refuses bytes whose checksum does not match (one flipped bit anywhere but the expiry)', () => {
    const bytes = encodeEntry(codec, { list: [1, 2, 3], name: 'x' }, 0, ['t'], 5)
    for (let i = 0; i < bytes.length; i++) {
      if (i >= 4 && i < 12) continue // the expiry is rewritten in place by expire(): outside the checksum
      const flipped = Buffer.from(bytes)
      flipped[i] = (flipped[i] as number) ^ 0x10
      expect(() => decodeEntry(codec, flipped), `byte ${i}`).toThrow(EnvelopeError)
    }
  })

  it.each([
    ['empty', Buffer.alloc(0)],
    ['short', Buffer.from('TC')],
    ['not ours', Buffer.from('hello world, definitely not an envelope')],
    ['digits too long for a counter', Buffer.from('1'.repeat(30))],
  ])('rejects %s', (_name, bytes) => {
    expect(() => decodeEntry(codec, bytes)).toThrow(EnvelopeError)
  })
})
