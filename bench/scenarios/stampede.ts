/**
 * Stampede: 1,000 concurrent getOrSet on one cold key (cold in L1 and L2) with a 50 ms
 * factory. Reports how many times the factory ran and how long until every caller had its
 * value, per run; the median run and the worst factory count are kept.
 */
import { sleep, summarize, type Fact } from '../harness.js'
import type { Peers } from '../peers.js'
import { makeValue } from '../values.js'

const CALLERS = 1000
const FACTORY_MS = 50

export async function stampede(peers: Peers, runs: number): Promise<Fact[]> {
  const value = makeValue('100B')
  const { tiercache, bento, cm } = peers
  const contenders: Record<string, (key: string, factory: () => Promise<object>) => Promise<unknown>> = {
    tiercache: (key, factory) => tiercache.getOrSet(key, factory),
    bentocache: (key, factory) => bento.getOrSet({ key, factory }),
    'cache-manager': (key, factory) => cm.wrap(key, factory),
  }
  const facts: Fact[] = []
  for (const [contender, getOrSet] of Object.entries(contenders)) {
    const times: number[] = []
    let worstCalls = 0
    for (let run = 0; run < runs; run++) {
      let calls = 0
      const factory = async (): Promise<object> => {
        calls++
        await sleep(FACTORY_MS)
        return value
      }
      const key = `stampede:${contender}:${run}:${Date.now()}`
      const started = performance.now()
      const results = await Promise.all(Array.from({ length: CALLERS }, () => getOrSet(key, factory)))
      times.push(performance.now() - started)
      if (results.some((result) => result === undefined))
        throw new Error(`stampede: ${contender} returned undefined to a caller`)
      worstCalls = Math.max(worstCalls, calls)
    }
    facts.push({
      id: 'stampede',
      title: `stampede: ${CALLERS} concurrent getOrSet, one cold key, ${FACTORY_MS} ms factory`,
      contender,
      values: { factoryCalls: worstCalls, totalMs: summarize(times).median },
    })
  }
  return facts
}
