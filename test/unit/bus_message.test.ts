import { describe, expect, it } from 'vitest'
import {
  channelOf,
  channelPattern,
  decodeMessage,
  encodeMessage,
  MessageError,
  newOrigin,
  fromOrigin,
} from '../../src/bus/message.js'

describe('bus message codec', () => {
  it('round-trips every kind, with unicode, long and many items', () => {
    const origin = newOrigin()
    const long = 'k'.repeat(300) // length needs a two-byte varint
    const many = Array.from({ length: 1000 }, (_, i) => `key:${i}`)
    for (const [kind, items] of [
      ['keys', ['a', 'é🙂', long]],
      ['clear', []],
      ['tags', ['products', 'x:y']],
      ['keys', many],
    ] as const) {
      const bytes = encodeMessage(kind, origin, items)
      const message = decodeMessage(bytes)
      expect(message.kind).toBe(kind)
      expect(message.items).toEqual(items)
      expect(message.origin.equals(origin)).toBe(true)
      expect(fromOrigin(bytes, origin)).toBe(true) // recognised without decoding
      expect(fromOrigin(bytes, newOrigin())).toBe(false)
      expect(fromOrigin(bytes.subarray(0, 12), origin)).toBe(false) // too short to be a message
      expect(fromOrigin(Buffer.concat([Buffer.from('XX'), bytes.subarray(2)]), origin)).toBe(false) // not ours
    }
  })

  it('is compact: one short key costs header + 2 bytes of framing', () => {
    expect(encodeMessage('keys', newOrigin(), ['user:42']).length).toBe(12 + 1 + 1 + 7)
  })

  it('rejects anything malformed with a MessageError, never another throw', () => {
    const good = encodeMessage('keys', newOrigin(), ['abc', 'def'])
    const bad: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from('hello world, not ours'),
      Buffer.from([0x54, 0x42, 2, 1, ...Array(9).fill(0)]), // version
      Buffer.from([0x54, 0x42, 1, 7, ...Array(9).fill(0)]), // kind
      good.subarray(0, good.length - 1), // truncated
      Buffer.concat([good, Buffer.from([0])]), // trailing bytes
      Buffer.from([...good.subarray(0, 12), 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // varint too long
      Buffer.from([...good.subarray(0, 12), 0x7f, 0x01, 0x61]), // count larger than the message
      Buffer.from([...good.subarray(0, 12), 0x01, 0x00]), // empty key
    ]
    for (const raw of bad) expect(() => decodeMessage(raw)).toThrow(MessageError)
    for (let cut = 0; cut < good.length; cut++) expect(() => decodeMessage(good.subarray(0, cut))).toThrow(MessageError)
  })

  it('names one channel per namespace and a pattern covering them, escaping glob characters', () => {
    expect(channelOf('tc', 'shop:users')).toBe('tc:bus:shop:users')
    expect(channelPattern('tc')).toBe('tc:bus:*')
    expect(channelPattern('a*b[1]')).toBe('a\\*b\\[1\\]:bus:*')
  })
})
