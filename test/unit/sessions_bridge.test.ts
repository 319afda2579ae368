/** The adapters' shared core: whole-object saves become per-field changes against what the request loaded. */
import { describe, expect, it } from 'vitest'
import { msgpackCodec } from '../../src/index.js'
import { GONE, SessionBridge, type LoadState, type SessionConflict } from '../../src/sessions/bridge.js'
import type { EncodedChange, SessionStore, WriteOutcome } from '../../src/sessions/store.js'

/** A store that records what the bridge asks of it. */
function fakeStore(outcome: WriteOutcome['status'] = 'written'): {
  store: SessionStore
  writes: EncodedChange[]
  creates: Array<{ id: string; fields: string[]; userId: string | undefined }>
  clock: { now: number }
} {
  const codec = msgpackCodec()
  const writes: EncodedChange[] = []
  const creates: Array<{ id: string; fields: string[]; userId: string | undefined }> = []
  const clock = { now: 1_000_000 }
  const store = {
    codec,
    touchAfter: 60_000,
    now: () => clock.now,
    async writeEncoded(_id: string, change: EncodedChange): Promise<WriteOutcome> {
      writes.push(change)
      return outcome === 'written' ? { status: 'written', at: clock.now } : { status: outcome }
    },
    async createEncoded(id: string, encoded: { fields: Map<string, Buffer> }, userId: string | undefined) {
      creates.push({ id, fields: [...encoded.fields.keys()], userId })
      return { lastActiveAt: clock.now }
    },
  } as unknown as SessionStore
  return { store, writes, creates, clock }
}

function loaded(data: Record<string, unknown>, userId?: string, lastActiveAt = 1_000_000): LoadState {
  const codec = msgpackCodec()
  const fields = new Map(Object.entries(data).map(([k, v]) => [k, Buffer.from(codec.encode(v))]))
  return { id: 'sid', fields, userId, lastActiveAt }
}

const cookie = (expires: number): { toJSON(): unknown } => ({
  toJSON: () => ({ expires: new Date(expires), path: '/' }),
})

describe('SessionBridge', () => {
  it('writes only the fields whose encoding changed and deletes only the removed ones', async () => {
    const { store, writes } = fakeStore()
    const bridge = new SessionBridge(store, {}, () => undefined)
    const before = loaded({ a: 1, b: { deep: [1, 2] }, c: new Date(0), gone: 'x' })
    await bridge.save('sid', { a: 1, b: { deep: [1, 2] }, c: new Date(0), added: true, undef: undefined }, before)
    expect(writes).toHaveLength(1)
    expect([...(writes[0]?.set.keys() ?? [])]).toEqual(['added'])
    expect(writes[0]?.unset).toEqual(['gone'])
    expect(writes[0]?.userId).toBeUndefined()
  })

  it('a save where only the cookie moved is a touch: nothing within touchAfter, then the cookie alone', async () => {
    const { store, writes, clock } = fakeStore()
    const bridge = new SessionBridge(store, {}, () => undefined)
    const before = loaded({ a: 1, cookie: { expires: new Date(5), path: '/' } })
    expect(await bridge.save('sid', { a: 1, cookie: cookie(9) }, before)).toBe(before)
    expect(writes).toEqual([])
    clock.now += 60_000
    const after = await bridge.save('sid', { a: 1, cookie: cookie(9) }, before)
    expect(writes).toHaveLength(1)
    expect([...(writes[0]?.set.keys() ?? [])]).toEqual(['cookie'])
    expect(writes[0]?.throttle).toBe(60_000)
    expect(after !== GONE && after?.lastActiveAt).toBe(clock.now)
  })

  it('a session object that was never loaded is created only-if-absent, with its user', async () => {
    const { store, creates, writes } = fakeStore()
    const bridge = new SessionBridge(store, { userField: 'account' }, () => undefined)
    const state = await bridge.save('new-id', { account: 42, cookie: cookie(1) }, undefined)
    expect(creates).toEqual([{ id: 'new-id', fields: ['account', 'cookie'], userId: '42' }])
    // A second save of the same object is an update against what the first wrote.
    await bridge.save('new-id', { account: 42, cookie: cookie(1), more: 1 }, state)
    expect([...(writes[0]?.set.keys() ?? [])]).toEqual(['more'])
  })

  it('a change of the user field moves the session between users; deleting it takes it out', async () => {
    const { store, writes } = fakeStore()
    const bridge = new SessionBridge(store, {}, () => undefined)
    await bridge.save('sid', { userId: 'bob' }, loaded({ userId: 'ada' }, 'ada'))
    await bridge.save('sid', {}, loaded({ userId: 'ada' }, 'ada'))
    expect(writes.map((w) => w.userId)).toEqual(['bob', null])
  })

  it('a session that is gone: the write is dropped, a conflict without the id, and later saves are dropped at once', async () => {
    const { store, writes } = fakeStore('gone')
    const conflicts: SessionConflict[] = []
    const bridge = new SessionBridge(store, {}, (c) => conflicts.push(c))
    const state = await bridge.save('sid', { a: 2 }, loaded({ a: 1 }))
    expect(state).toBe(GONE)
    expect(await bridge.save('sid', { a: 3 }, state)).toBe(GONE)
    expect(await bridge.touch('sid', { a: 3 }, state)).toBe(GONE)
    expect(writes).toHaveLength(1)
    expect(conflicts).toEqual([
      { operation: 'set', reason: 'gone' },
      { operation: 'set', reason: 'gone' },
      { operation: 'touch', reason: 'gone' },
    ])
  })

  it('what was loaded for another id is not used (a regenerated session is new)', async () => {
    const { store, creates } = fakeStore()
    const bridge = new SessionBridge(store, {}, () => undefined)
    await bridge.save('other-id', { a: 1 }, loaded({ a: 1 }))
    expect(creates).toHaveLength(1)
  })

  it('rejects a store that is not one and a bad userField', () => {
    expect(() => new SessionBridge({} as SessionStore, {}, () => undefined)).toThrow(TypeError)
    expect(() => new SessionBridge(fakeStore().store, { userField: '' }, () => undefined)).toThrow(/`userField`/)
  })
})
