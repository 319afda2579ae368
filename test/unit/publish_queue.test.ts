import { describe, expect, it } from 'vitest'
import { PublishQueue } from '../../src/bus/publish_queue.js'

describe('publish retry queue', () => {
  it('keeps one entry per key, newest last, and drains one batch per namespace and kind', () => {
    const queue = new PublishQueue(100)
    queue.add('a', 'keys', ['x', 'y'])
    queue.add('a', 'keys', ['x'])
    queue.add('b', 'tags', ['t'])
    queue.add('a', 'tags', ['t'])
    expect(queue.size).toBe(4)
    expect(queue.drain()).toEqual([
      { namespace: 'a', kind: 'keys', items: ['y', 'x'] },
      { namespace: 'b', kind: 'tags', items: ['t'] },
      { namespace: 'a', kind: 'tags', items: ['t'] },
    ])
    expect(queue.size).toBe(0)
    expect(queue.drain()).toEqual([])
  })

  it("lets a clear replace its namespace's pending keys and tags", () => {
    const queue = new PublishQueue(100)
    queue.add('a', 'keys', ['x'])
    queue.add('b', 'keys', ['x'])
    queue.add('a', 'clear', [])
    queue.add('a', 'keys', ['z']) // covered by the clear
    expect(queue.drain()).toEqual([
      { namespace: 'a', kind: 'clear', items: [] },
      { namespace: 'b', kind: 'keys', items: ['x'] },
    ])
  })

  it('stays bounded by collapsing the oldest namespace into a clear: coarser, never lost', () => {
    const queue = new PublishQueue(3)
    queue.add('old', 'keys', ['1', '2'])
    queue.add('new', 'keys', ['3', '4'])
    expect(queue.size).toBeLessThanOrEqual(3)
    const batches = queue.drain()
    expect(batches).toContainEqual({ namespace: 'old', kind: 'clear', items: [] })
    expect(batches).toContainEqual({ namespace: 'new', kind: 'keys', items: ['3', '4'] })
    for (let i = 0; i < 10_000; i++) queue.add(`ns${i % 2}`, 'keys', [`k${i}`])
    expect(queue.size).toBeLessThanOrEqual(3)
    queue.drain()
    // More namespaces than the bound: at most one clear per namespace.
    for (let i = 0; i < 10_000; i++) queue.add(`ns${i % 50}`, 'keys', [`k${i}`])
    expect(queue.size).toBe(50)
    expect(queue.drain().every((batch) => batch.kind === 'clear')).toBe(true)
  })
})
