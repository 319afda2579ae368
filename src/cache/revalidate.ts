/**
 * Revalidation (ARCHITECTURE.md, "Bus outages"): after this node's bus subscription was down, it may
 * have missed invalidations, so the L1 entries it installed before the subscription came back are
 * checked against Redis instead of all being dropped. For each entry Redis's envelope header (the
 * first 16 bytes: logical expiry and checksum) is read, 500 keys per Lua call (per hash slot on a
 * Cluster), and the entry is kept only if both still match; a tagged entry is also checked against
 * its tags' invalidation times (one MGET per namespace). Whatever changed, went away, or cannot be
 * checked is dropped. Revalidation only ever drops: it never installs anything.
 * @internal
 */
import { readHeader } from '../codec/envelope.js'
import type { MemoryEntry } from '../tiers/memory_tier.js'
import type { CacheContext, Scope } from './context.js'
import { invalidationTime, tagKey } from './tags.js'

interface Candidate {
  scope: Scope
  key: string
  k: string
  entry: MemoryEntry
}

/** Checks every L1 entry installed before `before` against Redis; drops what changed. Resolves with how many went. */
export async function revalidateL1(ctx: CacheContext, before: number): Promise<number> {
  const l2 = ctx.l2
  if (l2 === undefined) return 0
  const candidates: Candidate[] = []
  for (const scope of ctx.scopes.values()) {
    for (const [key, entry] of scope.l1?.snapshot() ?? []) {
      if (entry.installedAt < before) candidates.push({ scope, key, k: scope.prefix + key, entry })
    }
  }
  if (candidates.length === 0) return 0
  const heads = await l2.headers(candidates.map((candidate) => candidate.k))
  const doomed = new Set<Candidate>()
  for (let i = 0; i < candidates.length; i++) {
    const { entry } = candidates[i] as Candidate
    const head = readHeader(heads[i] as Buffer)
    if (head === undefined || head.checksum !== entry.checksum || head.expiresAt !== entry.expiresAt)
      doomed.add(candidates[i] as Candidate)
  }
  for (const candidate of await invalidatedByTags(ctx, candidates)) doomed.add(candidate)
  let dropped = 0
  for (const { scope, key, k, entry } of doomed) {
    if (scope.l1?.peek(key) !== entry) continue // replaced since: the newer entry was installed while hearing
    ctx.fences.invalidate(k)
    scope.l1?.delete(key)
    dropped++
  }
  return dropped
}

/** The tagged candidates whose tags were invalidated after they were made, or whose tag keys are missing. */
async function invalidatedByTags(ctx: CacheContext, candidates: readonly Candidate[]): Promise<Candidate[]> {
  const l2 = ctx.l2
  const byScope = new Map<Scope, Candidate[]>()
  for (const candidate of candidates) {
    if (candidate.entry.tags === undefined || candidate.entry.createdAt === undefined) continue
    const list = byScope.get(candidate.scope)
    if (list === undefined) byScope.set(candidate.scope, [candidate])
    else list.push(candidate)
  }
  if (l2 === undefined || byScope.size === 0) return []
  const out: Candidate[] = []
  for (const [scope, list] of byScope) {
    const keys = [
      ...new Set(list.flatMap((c) => (c.entry.tags ?? []).map((t) => tagKey(ctx.options.prefix, scope.namespace, t)))),
    ]
    const values = await l2.mget(keys)
    const times = new Map(keys.map((key, i) => [key, invalidationTime(values[i])]))
    for (const candidate of list) {
      const createdAt = candidate.entry.createdAt as number
      const stale = (candidate.entry.tags ?? []).some((tag) => {
        const time = times.get(tagKey(ctx.options.prefix, scope.namespace, tag))
        return typeof time !== 'number' || time >= createdAt
      })
      if (stale) out.push(candidate)
    }
  }
  return out
}
