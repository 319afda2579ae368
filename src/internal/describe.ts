/** Renders a value for an error message: `\`0\` (number)`, in the style of p-queue. */
export function describe(value: unknown): string {
  let shown: string
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : String(value)
  } catch {
    shown = Object.prototype.toString.call(value)
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`
  return `\`${shown}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}
