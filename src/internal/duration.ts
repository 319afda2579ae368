/** Durations as users write them (`'30m'` or milliseconds), parsed once into whole milliseconds. */
import { describe } from './describe.js'

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'10m'`, `'1h'`, `'7d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

/**
 * Parses a {@link Duration} into whole milliseconds (rounded up).
 * @throws TypeError naming the option when the value is not a finite, positive duration
 *   (or non-negative when `allowZero`).
 */
export function parseDuration(value: unknown, name: string, allowZero = false): number {
  let ms: number | undefined
  if (typeof value === 'number') ms = value
  else if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim())
    if (match !== null) ms = Number(match[1]) * (UNITS[match[2] as string] as number)
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    const expected = allowZero ? 'zero or more' : 'more than zero'
    throw new TypeError(
      `Expected \`${name}\` to be a finite duration ${expected} (milliseconds or a string like '10m'), ` +
        `got ${describe(value)}`,
    )
  }
  return Math.ceil(ms)
}
