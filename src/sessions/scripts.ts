/**
 * The Lua scripts of the session store. Each touches the keys of one hash slot only (one session, or one user's
 * index and its companion), so every one runs unchanged on a Redis Cluster.
 *
 * A session hash holds its fields under `.<name>` and its metadata under one-letter names:
 * `c` created, `a` last activity, `e` expiry (the earlier of idle and absolute deadlines, kept equal to the key's
 * TTL), `x` absolute deadline, `u` user id, `r` ref, `b` encoded bytes of the fields, `v` version. A hash with `t`
 * is a tombstone: the session was ended and its id may not be used again while it lasts.
 *
 * Times are ms since the epoch, passed in by the caller (`now`), so that every check of one call uses one instant.
 */
import { Script } from '../seam.js'

/** Calls `cmd key ...list[from..to]` in chunks (Lua's unpack has a stack limit). `to - from + 1` must be even for pairs. */
const CHUNKED = `
local function chunked(cmd, key, list, from, to)
  for i = from, to, 200 do redis.call(cmd, key, unpack(list, i, math.min(i + 199, to))) end
end
local function int(n) return string.format('%.0f', n) end
`

/**
 * Creates a session only if the key is absent (no session, no tombstone).
 * ARGV: now, c, a, e, x, u, r, b, v, then field/value pairs. Returns 1 created, 0 taken, -1 already expired.
 */
export const CREATE = new Script(
  'session create',
  `${CHUNKED}
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return 0 end
local ttl = tonumber(ARGV[4]) - tonumber(ARGV[1])
if ttl <= 0 then return -1 end
redis.call('HSET', key, 'c', ARGV[2], 'a', ARGV[3], 'e', ARGV[4], 'x', ARGV[5], 'u', ARGV[6], 'r', ARGV[7], 'b', ARGV[8], 'v', ARGV[9])
if #ARGV >= 10 then chunked('HSET', key, ARGV, 10, #ARGV) end
redis.call('PEXPIRE', key, ttl)
return 1`,
)

/**
 * Changes a live session, per field, as activity: fields unset and set, last activity now, expiry and TTL moved to
 * min(now + idle, absolute deadline), version + 1; optionally a new user and ref. Never recreates a session.
 * ARGV: now, idle, maxBytes, throttle, mode ('a': reply with every field), user change ('-' none, '=' set u/r),
 * user, ref (kept as they are when the user does not change), number of fields to unset, their names, then
 * field/value pairs to set.
 * Returns {0} absent, {3} ended or expired, {2} throttled (a touch within `throttle` of the last activity; nothing
 * written), {-1, bytes} too large (nothing written); written: 1, or {1, version, old user, old ref[, all fields]}
 * with a user change or mode 'a'.
 */
export const WRITE = new Script(
  'session update',
  `${CHUNKED}
local key = KEYS[1]
local m = redis.call('HMGET', key, 'e', 'x', 'b', 'a', 'u', 'r', 'v')
if not m[1] then
  if redis.call('EXISTS', key) == 1 then return {3} end
  return {0}
end
local now = tonumber(ARGV[1])
local x = tonumber(m[2])
if now >= tonumber(m[1]) or now >= x then return {3} end
local last = tonumber(m[4])
local throttle = tonumber(ARGV[4])
if throttle > 0 and now - last < throttle then return {2} end
local unset = tonumber(ARGV[9])
local first = 10 + unset
local b = tonumber(m[3])
for i = 10, first - 1 do
  local old = redis.call('HSTRLEN', key, ARGV[i])
  if old > 0 then b = b - old - #ARGV[i] end
end
for i = first, #ARGV, 2 do
  local old = redis.call('HSTRLEN', key, ARGV[i])
  if old > 0 then b = b - old - #ARGV[i] end
  b = b + #ARGV[i] + #ARGV[i + 1]
end
if b > tonumber(ARGV[3]) then return {-1, b} end
if unset > 0 then chunked('HDEL', key, ARGV, 10, first - 1) end
-- Servers' clocks differ by a little and calls cross on the way: activity and expiry never move back.
local e = math.max(math.min(now + tonumber(ARGV[2]), x), tonumber(m[1]))
local a = int(math.max(now, last))
local v = (tonumber(m[7]) or 0) + 1
if #ARGV - first < 200 then
  redis.call('HSET', key, 'a', a, 'e', int(e), 'b', int(b), 'v', int(v), unpack(ARGV, first, #ARGV))
else
  chunked('HSET', key, ARGV, first, #ARGV)
  redis.call('HSET', key, 'a', a, 'e', int(e), 'b', int(b), 'v', int(v))
end
if ARGV[6] == '=' and m[5] ~= ARGV[7] then redis.call('HSET', key, 'u', ARGV[7], 'r', ARGV[8]) end
redis.call('PEXPIRE', key, int(e - now))
if ARGV[5] == 'a' then return {1, v, m[5] or '', m[6] or '', redis.call('HGETALL', key)} end
if ARGV[6] == '=' then return {1, v, m[5] or '', m[6] or ''} end
return 1`,
)

/**
 * Takes a live session away from its key (for `regenerate`): returns every field and leaves a tombstone for
 * min(absolute deadline - now, cap) ms. ARGV: now, cap. Returns the HGETALL array, or nil when not live.
 */
export const TAKE = new Script(
  'session regenerate',
  `
local key = KEYS[1]
local all = redis.call('HGETALL', key)
local e, x
for i = 1, #all, 2 do
  if all[i] == 'e' then e = tonumber(all[i + 1]) elseif all[i] == 'x' then x = tonumber(all[i + 1]) end
end
local now = tonumber(ARGV[1])
if not e or not x or now >= e or now >= x then return false end
redis.call('DEL', key)
local ttl = math.min(x - now, tonumber(ARGV[2]))
if ttl > 0 then
  redis.call('HSET', key, 't', '1')
  redis.call('PEXPIRE', key, ttl)
end
return all`,
)

/**
 * Ends a session and leaves a tombstone for min(absolute deadline - now, cap) ms (cap alone when the key is absent
 * and ARGV[4] is '1': a durable copy may exist). With an expected ref, ends it only if it has that ref.
 * ARGV: now, cap, expected ref ('' for any), tombstone an absent key ('1'/'0'). Returns {user, ref} or nil.
 */
export const DESTROY = new Script(
  'session destroy',
  `
local key = KEYS[1]
local m = redis.call('HMGET', key, 'u', 'r', 'x', 't')
if m[4] then return false end
if ARGV[3] ~= '' and m[2] ~= ARGV[3] then return false end
local existed = redis.call('DEL', key) == 1
if existed or ARGV[4] == '1' then
  local ttl = tonumber(ARGV[2])
  if m[3] then ttl = math.min(ttl, tonumber(m[3]) - tonumber(ARGV[1])) end
  if ttl > 0 then
    redis.call('HSET', key, 't', '1')
    redis.call('PEXPIRE', key, ttl)
  end
end
if not existed then return false end
return {m[1] or '', m[2] or ''}`,
)

/** Drops the refs of a user index whose score (the session's absolute deadline) has passed. Needs `now`. */
const PRUNE = `
local function prune(now)
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
  if #old > 0 then
    chunked('ZREM', KEYS[1], old, 1, #old)
    chunked('HDEL', KEYS[2], old, 1, #old)
  end
end
`

/**
 * Adds (or re-points) a ref in a user index: score = the session's absolute deadline, companion value =
 * state ('0' pending, '1' confirmed) + session digest. Both keys expire with the highest score.
 * KEYS: index, refs. ARGV: now, ref, value, score.
 */
export const INDEX_ADD = new Script(
  'session index add',
  `${CHUNKED}${PRUNE}
prune(ARGV[1])
local current = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not current or tonumber(current) < tonumber(ARGV[4]) then redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2]) end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local ttl = tonumber(top[2]) - tonumber(ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1`,
)

/** Marks a ref confirmed (its session was created) if it still points at that session. ARGV: ref, pending, confirmed. */
export const INDEX_CONFIRM = new Script(
  'session index confirm',
  `
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  return 1
end
return 0`,
)

/**
 * Removes refs, each only if its companion value is the one expected (compare-and-delete); an expected value
 * starting with '*' matches either state of that session digest. ARGV: ref, expected, ref, expected, ...
 */
export const INDEX_REMOVE = new Script(
  'session index remove',
  `
local n = 0
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[2], ARGV[i])
  local want = ARGV[i + 1]
  if v and (v == want or (string.sub(want, 1, 1) == '*' and string.sub(v, 2) == string.sub(want, 2))) then
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n`,
)

/** Prunes, then returns every ref of a user index as ref, score, companion value. ARGV: now. */
export const INDEX_READ = new Script(
  'session index read',
  `${CHUNKED}${PRUNE}
prune(ARGV[1])
local refs = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #refs, 2 do
  out[#out + 1] = refs[i]
  out[#out + 1] = refs[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], refs[i]) or ''
end
return out`,
)
