/**
 * `tiercache/warming`: fill the cache before traffic arrives. Define jobs with `defineWarmJob`, run them
 * with `runWarmJob` (or the `warm-cache` command), read what every server's runs did with `readWarmRecords`.
 * See ARCHITECTURE.md, "Warming".
 */
export {
  defineWarmJob,
  isWarmJob,
  WARM_DEFAULTS,
  type KeySource,
  type LoadContext,
  type LoadManyResult,
  type WarmJob,
  type WarmJobDefinition,
} from './job.js'
export { runWarmJob } from './runner.js'
export { RUN_DEFAULTS, type RunWarmJobOptions, type WarmItemEvent, type WarmLeaseOptions } from './options.js'
export type { WarmFailureReason, WarmPhase, WarmProgress, WarmReport, WarmSkipped } from './tally.js'
export {
  readWarmRecords,
  type WarmCounts,
  type WarmJobStatus,
  type WarmOutcome,
  type WarmRunningRecord,
  type WarmRunRecord,
} from './record.js'
export { parseShard, shardOf, type Shard } from './shard.js'
export { defineWarmConfig, type WarmConfig } from './config.js'
export { WarmConfigError, WarmLeaseHeldError, WarmTimeoutError } from './errors.js'
