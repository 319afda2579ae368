/** The node sides of the workloads a chaos run can use, by name (a new workload adds one line here). */
import { startCacheNode } from '../workloads/cache/node.js'
import type { StartNodeWorkload } from '../workload.js'

export const NODE_WORKLOADS: Readonly<Record<string, StartNodeWorkload>> = { cache: startCacheNode }
