/**
 * The control run: node 0 gets a cache with `bus: false` (it never hears another node's write) and only reads,
 * while the other nodes write. It must be caught serving stale values: if the checker found none here, its
 * zero everywhere else would prove nothing.
 */
import { check, type Fault } from '../fault.js'

export const CONTROL_NODE = 0

export const control: Fault = {
  name: 'control: node 0 with bus: false',
  description: 'node 0 swaps in a cache with bus: false and only reads; its stale reads are expected and must be found',
  allowance: 'bus',
  dataSurvives: true,
  staleExpectedOn: [CONTROL_NODE],
  async run(ctx) {
    const node = ctx.nodes[CONTROL_NODE]
    if (node === undefined) return
    ctx.readOnly(CONTROL_NODE)
    await ctx.call(node, 'cache.swap', { options: { bus: false } }, 8000)
    await ctx.sleep(ctx.holdMs)
  },
  async verify(ctx) {
    const found = ctx.phase.staleByNode[CONTROL_NODE] ?? 0
    check(
      ctx.phase,
      'control/stale reads found on the node without a bus',
      found > 0 && ctx.phase.staleBeyond(ctx.phase.allowanceMs) > 0,
      `${found} stale reads on node ${CONTROL_NODE}, ${ctx.phase.staleBeyond(ctx.phase.allowanceMs)} beyond the allowance`,
    )
  },
}
