/** Key derivation, ids, refs, the stored record and option resolution of the session store (no Redis). */
import { describe, expect, it } from 'vitest'
import { msgpackCodec } from '../../src/index.js'
import { newSessionId, SessionKeys } from '../../src/sessions/keys.js'
import { resolveSessionOptions, SESSION_DEFAULTS } from '../../src/sessions/options.js'
import { decodeFields, encodeData, readSession } from '../../src/sessions/record.js'

describe('session keys', () => {
  it('ids: 192 bits from the CSPRNG, base64url, never repeated', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newSessionId()))
    expect(ids.size).toBe(10_000)
    for (const id of [...ids].slice(0, 10)) expect(Buffer.from(id, 'base64url')).toHaveLength(24)
  })

  it('a session key is the SHA-256 of the id (HMAC with a secret), in its own hash slot; no id in it', () => {
    const plain = new SessionKeys('tc:sess', undefined)
    const keyed = new SessionKeys('tc:sess', Buffer.from('secret'))
    const id = newSessionId()
    expect(plain.hashOf(id)).toBe(new SessionKeys('tc:sess', undefined).hashOf(id))
    expect(plain.hashOf(id)).not.toBe(keyed.hashOf(id))
    expect(plain.sessionKey(plain.hashOf(id))).toMatch(/^tc:sess:s:\{[A-Za-z0-9_-]{43}\}$/)
    expect(plain.sessionKey(plain.hashOf(id))).not.toContain(id)
    expect(plain.hashOf('ada')).not.toBe(plain.userTag('ada').padEnd(43, 'x')) // separate domains
  })

  it('a user index and its companion share one hash tag; a ref names its index and is random', () => {
    const keys = new SessionKeys('p', undefined)
    const tag = keys.userTag('ada')
    const [index, refs] = keys.indexKeys(tag)
    expect(index).toBe(`p:u:{${tag}}`)
    expect(refs).toBe(`p:u:{${tag}}:refs`)
    const ref = keys.newRef(tag)
    expect(keys.tagOfRef(ref)).toBe(tag)
    expect(keys.newRef(tag)).not.toBe(ref)
    expect(keys.tagOfRef('short')).toBeUndefined()
    expect(keys.tagOfRef(42)).toBeUndefined()
  })

  it('SCAN patterns escape glob characters of the prefix', () => {
    expect(new SessionKeys('a*b?[c]', undefined).sessionPattern).toBe('a\\*b\\?\\[c\\]:s:*')
  })
})

describe('session record', () => {
  const codec = msgpackCodec()
  const meta = (over: Record<string, string> = {}): Array<[string, Buffer]> =>
    Object.entries({ c: '1', a: '2', e: '100', x: '200', u: 'ada', r: '', b: '0', v: '1', ...over }).map(([k, v]) => [
      k,
      Buffer.from(v),
    ])

  it('reads live, ended (past a deadline, tombstone), absent and garbage', () => {
    expect(readSession([], 50).state).toBe('absent')
    expect(readSession(meta(), 50)).toMatchObject({
      state: 'live',
      session: { meta: { userId: 'ada', ref: undefined } },
    })
    expect(readSession(meta(), 100).state).toBe('ended')
    expect(readSession(meta({ e: '300' }), 200).state).toBe('ended')
    expect(readSession([['t', Buffer.from('1')]], 0).state).toBe('ended')
    expect(readSession(meta({ e: 'soon' }), 0)).toEqual({ state: 'garbage', reason: 'metadata expiresAt' })
  })

  it('encodes fields, leaving out undefined ones; a stored `__proto__` field stays an own field', () => {
    const { fields, bytes } = encodeData(codec, { a: 1, b: undefined, c: 'x' })
    expect([...fields.keys()]).toEqual(['a', 'c'])
    expect(bytes).toBe(2 + 1 + 2 + 2) // '.a' + 1 byte, '.c' + 2 bytes
    const read = readSession([...meta(), ['.__proto__', Buffer.from(codec.encode({ polluted: true }))]], 0)
    if (read.state !== 'live') throw new Error(read.state)
    const data = decodeFields(codec, read.session.fields)
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('session store options', () => {
  const base = { redis: 'redis://127.0.0.1:1', idleTimeout: '30m', absoluteTimeout: '7d' } as const

  it('resolves durations and defaults once', () => {
    const resolved = resolveSessionOptions({ ...base })
    expect(resolved).toMatchObject({
      prefix: SESSION_DEFAULTS.prefix,
      idleTimeout: 1_800_000,
      absoluteTimeout: 604_800_000,
      touchAfter: 180_000,
      maxBytes: 1_048_576,
      secret: undefined,
    })
    expect(resolved.connection.timeout).toBe(500)
    expect(resolveSessionOptions({ ...base, touchAfter: 0, timeout: '2s' })).toMatchObject({
      touchAfter: 0,
      connection: { timeout: 2000 },
    })
  })

  it('names the bad option and value', () => {
    expect(() => resolveSessionOptions({ ...base, absoluteTimeout: '-1m' as '1m' })).toThrow(/`absoluteTimeout`.*"-1m"/)
    expect(() => resolveSessionOptions({ ...base, prefix: 'a b' })).toThrow(/`prefix`/)
    expect(() => resolveSessionOptions({ ...base, codec: 'xml' as 'json' })).toThrow(/`codec`.*"xml"/)
    expect(() => resolveSessionOptions({ ...base, durable: {} as never })).toThrow(/`durable`/)
    expect(() => resolveSessionOptions({ ...base, redis: undefined as never })).toThrow(/`redis`/)
    expect(() => resolveSessionOptions({ ...base, breaker: { threshold: 0 } })).toThrow(/`breaker.threshold`/)
  })
})
