import { inspect } from 'node:util'

/**
 * Renders a value for an error message: `` `0` (number) ``, `` `"10 minutes"` (string) ``,
 * `` `{ s: Symbol(x) }` (object) ``, in the style of p-queue. Strings are quoted; anything else is shown
 * as `util.inspect` shows it, one level deep, so objects, symbols, functions and bigints read as written.
 */
export function describe(value: unknown): string {
  let shown: string
  try {
    shown =
      typeof value === 'string'
        ? JSON.stringify(value)
        : inspect(value, { depth: 1, breakLength: Infinity, maxArrayLength: 10, maxStringLength: 60 })
  } catch {
    shown = Object.prototype.toString.call(value) // a custom inspect that throws
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`
  return `\`${shown}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}
