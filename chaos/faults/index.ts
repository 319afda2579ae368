/** Every fault of a chaos run, in the order they run (the control last: it leaves node 0 without a bus). */
import type { Fault } from '../fault.js'
import { control } from './control.js'
import { freshCaches } from './fresh_caches.js'
import { entryGarbage, tagGarbage } from './garbage.js'
import { joiners } from './joiners.js'
import { evictions, oom } from './memory.js'
import { blackhole, latency, resets, stalls } from './network.js'
import { killNormal, killSubscribers, pauseAll, pauseWrite } from './redis_clients.js'
import { freeze, killRestart, steady } from './redis_process.js'
import { lateInvalidation, tagRaces } from './tag_races.js'

export const FAULTS: readonly Fault[] = [
  steady,
  killRestart,
  freeze,
  pauseAll,
  pauseWrite,
  killSubscribers,
  killNormal,
  latency,
  blackhole,
  stalls,
  resets,
  evictions,
  oom,
  entryGarbage,
  tagGarbage,
  tagRaces,
  lateInvalidation,
  joiners,
  freshCaches,
  control,
]
