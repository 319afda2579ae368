import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../src/internal/duration.js'

describe('parseDuration', () => {
  it.each([
    [250, 250],
    [0.5, 1],
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1.5h', 5_400_000],
    ['7d', 604_800_000],
  ])('%s → %s ms', (input, ms) => expect(parseDuration(input, 'ttl')).toBe(ms))

  it.each([0, -1, NaN, Infinity, '', '10', '10 years', '-5s', null, {}])(
    'refuses %s with a TypeError naming the option',
    (input) => {
      expect(() => parseDuration(input, 'ttl')).toThrow(/Expected `ttl`/)
    },
  )

  it('accepts zero when asked to', () => expect(parseDuration(0, 'l2.timeout', true)).toBe(0))
})
