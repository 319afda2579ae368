/**
 * Wall-clock time in ms with sub-millisecond resolution, strictly increasing within a process.
 * Tag checks compare an entry's creation time with its tags' invalidation times: with whole
 * milliseconds, a value written in the same millisecond as an invalidation (on the same node,
 * right after it) would look invalidated. Across nodes it is as good as the hosts' clocks (NTP).
 */
let last = 0

export function stamp(): number {
  const now = performance.timeOrigin + performance.now()
  last = now > last ? now : last + 0.001
  return last
}
