/**
 * Options objects hold only names we know: a misspelt option (`{ ttL: '1m' }`, `{ l1: { max: 5 } }`) is a
 * `TypeError` naming it and the closest known name, never silently ignored.
 */

/** Throws a `TypeError` for the first key of `options` that is not in `known`. `path` prefixes names (`'l1.'`). */
export function checkKnownOptions(options: object, known: readonly string[], path = ''): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const closest = closestName(name, known)
    throw new TypeError(
      `Unknown option \`${path}${name}\`` +
        (closest === undefined ? '' : ` (did you mean \`${path}${closest}\`?)`) +
        `; known options${path === '' ? '' : ` of \`${path.slice(0, -1)}\``}: ${known.join(', ')}`,
    )
  }
}

/** The known name nearest to `name` (case-insensitive edit distance), if one is near enough to be a typo. */
function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance || (candidate.toLowerCase().startsWith(name.toLowerCase()) && best === undefined)) {
      best = candidate
      bestDistance = Math.min(distance, bestDistance)
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}
