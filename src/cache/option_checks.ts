/** Small checks shared by the option resolvers (options.ts, l2_options.ts). @internal */
import { describe } from '../internal/describe.js'

export function positiveInteger(value: unknown, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`Expected \`${name}\` to be a whole number from 1 and up, got ${describe(value)}`)
  return value
}

export function plainObject(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`)
  return value as Record<string, unknown>
}
