/**
 * The Lua scripts of the L2 tier. Each one is a write together with what must happen with it,
 * atomically and in one round trip (ARCHITECTURE.md, "Leases" and "The contract"):
 *
 * - every write, delete and increment of an entry drops the entry's lease (so a `getOrSet` fill
 *   that started before it can no longer be written) and wakes `lock: true` waiters of that lease;
 * - every change is announced on the bus in the same call (an empty channel: no bus), so a change
 *   is acknowledged only together with its announcement, and one that times out on our side but
 *   lands later announces itself;
 * - tagged writes make sure their tag keys exist (a creation mark `c<time>`, just before the entry was made; see ENSURE_TAG), so a
 *   missing tag key later means it was evicted, and the entry's tag check fails closed.
 *
 * Lease values start with 'L' (taken by a `lock: true` caller: others wait for it) or 'F' (a plain
 * fill: others share it). Envelope headers are read in place (see codec/envelope.ts): bytes 1-3
 * 'T' 'C' 2, bytes 5-12 the logical expiry.
 * @internal
 */
import { Script } from '../redis/connection.js'

/**
 * Announces a change on the bus: nothing for an empty channel, SPUBLISH for a shard channel (marked by a leading
 * NUL byte, bus/shard_channels.ts: it is in the slot of the call's own keys, so it is local to the node running
 * the call), PUBLISH otherwise.
 */
const ANNOUNCE = `
local function announce(channel, message)
  if channel == '' then return end
  if string.byte(channel, 1) == 0 then redis.call('SPUBLISH', string.sub(channel, 2), message)
  else redis.call('PUBLISH', channel, message) end
end`

/** Drops the lease in KEYS[`l`] and wakes its lock waiters: a snippet shared by the writes below. */
const DROP_LEASE = `
local function dropLease(l, lockChannel)
  local lease = redis.call('GET', l)
  if lease then
    redis.call('DEL', l)
    if string.sub(lease, 1, 1) == 'L' and lockChannel ~= '' then redis.call('PUBLISH', lockChannel, l) end
  end
end`

/**
 * A tagged write's tag key: created when missing, as a creation mark `c<time>` (no invalidation is known after it;
 * entries made before it are misses). A mark only moves back (a write made earlier that lands later, within the
 * client's 1 s cap), so racing writers of a new tag all stay readable; an invalidation's time (a plain number,
 * written by INVALIDATE_TAGS) and garbage are left as they are.
 */
const ENSURE_TAG = `
local function ensureTag(key, mark)
  local value = redis.call('GET', key)
  if not value then redis.call('SET', key, mark) return end
  if string.sub(value, 1, 1) ~= 'c' then return end
  local current = tonumber(string.sub(value, 2))
  if current and tonumber(string.sub(mark, 2)) < current then redis.call('SET', key, mark) end
end
`

/**
 * Writes entries. KEYS: entry and lease keys in pairs, then tag keys (standalone only). ARGV: entry count, bus
 * channel, bus message, lock channel, tag creation value, then bytes and PX ('0': none) per entry.
 */
export const WRITE = new Script(
  'SET',
  `${ANNOUNCE}${DROP_LEASE}${ENSURE_TAG}
local n = tonumber(ARGV[1])
for i = 1, n do
  local k, bytes, px = KEYS[2 * i - 1], ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  if px == '0' then redis.call('SET', k, bytes) else redis.call('SET', k, bytes, 'PX', px) end
  dropLease(KEYS[2 * i], ARGV[4])
end
for j = 2 * n + 1, #KEYS do ensureTag(KEYS[j], ARGV[5]) end
announce(ARGV[2], ARGV[3])
return n`,
)

/**
 * A `getOrSet` fill: written only while its lease holds (no write or delete of the key since the lease was
 * taken). KEYS: entry, lease, then tag keys (standalone only). ARGV: token, bytes, PX, bus channel, bus message,
 * lock channel, tag creation value. Returns 1 when written, 0 when the lease was lost.
 */
export const FILL = new Script(
  'SET (fill)',
  `${ANNOUNCE}${ENSURE_TAG}
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[3] == '0' then redis.call('SET', KEYS[1], ARGV[2]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
redis.call('DEL', KEYS[2])
for j = 3, #KEYS do ensureTag(KEYS[j], ARGV[7]) end
announce(ARGV[4], ARGV[5])
if string.sub(ARGV[1], 1, 1) == 'L' and ARGV[6] ~= '' then redis.call('PUBLISH', ARGV[6], KEYS[2]) end
return 1`,
)

/** Deletes entries. KEYS: entry and lease keys in pairs. ARGV: bus channel, bus message, lock channel. */
export const DELETE = new Script(
  'UNLINK',
  `${ANNOUNCE}${DROP_LEASE}
local n = 0
for i = 1, #KEYS, 2 do
  n = n + redis.call('UNLINK', KEYS[i])
  dropLease(KEYS[i + 1], ARGV[3])
end
announce(ARGV[1], ARGV[2])
return n`,
)

/**
 * Atomic increment; the TTL is set only when the counter is created. KEYS: counter, lease. ARGV: by, PX, bus
 * channel, bus message, lock channel. A key that is not an integer fails at INCRBY, before anything changed.
 */
export const INCR = new Script(
  'INCRBY',
  `${ANNOUNCE}${DROP_LEASE}
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
dropLease(KEYS[2], ARGV[5])
announce(ARGV[3], ARGV[4])
return v`,
)

/**
 * A new expiry for an existing key: the logical expiry in the envelope header (outside its checksum) and the
 * Redis TTL together, so a concurrent write is never lost. KEYS: entry. ARGV: expiresAt as the 8 bytes of the
 * header field (float64 BE, built by the caller: no `struct` library needed), PX, bus channel, bus message.
 * Returns 1 when the key existed (and the change was announced), 0 otherwise.
 */
export const EXPIRE = new Script(
  'EXPIRE',
  `${ANNOUNCE}
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local changed
if string.len(v) >= 16 and string.sub(v, 1, 2) == 'TC' then
  v = string.sub(v, 1, 4) .. ARGV[1] .. string.sub(v, 13)
  redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
  changed = 1
else
  changed = redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
announce(ARGV[3], ARGV[4])
return changed`,
)

/**
 * The read of a `getOrSet`: a lease for each key that needs a fill (absent, not ours, or past its expiry minus the
 * caller's refresh window), and the values, in one call. KEYS: entry and lease keys in pairs. ARGV: now, '1' to
 * return the values too ('0' where Lua replies are not binary-safe, as on ioredis-mock: the caller then sends an
 * MGET in the same round trip, and this call only reads headers), then per pair: a new token, lease TTL, lock mode
 * ('1': take over a plain lease; others wait for ours), refresh window (ms). Returns per pair { token or '',
 * 1 when this call took the lease, 1 when the entry exists, its value or '' }.
 */
export const READ_WITH_LEASES = new Script(
  'GET (lease)',
  `
-- The float64 BE at byte \`at\` of \`s\` (an envelope's expiry), by hand: not every Lua has \`struct\`.
local function float64(s, at)
  local b1, b2, b3, b4, b5, b6, b7, b8 = string.byte(s, at, at + 7)
  local exponent = (b1 % 128) * 16 + math.floor(b2 / 16)
  if exponent == 0 then return 0 end
  local mantissa = ((((((b2 % 16) * 256 + b3) * 256 + b4) * 256 + b5) * 256 + b6) * 256 + b7) * 256 + b8
  local value = (1 + mantissa / 2 ^ 52) * 2 ^ (exponent - 1023)
  if b1 >= 128 then return -value end
  return value
end
local now = tonumber(ARGV[1])
local withValues = ARGV[2] == '1'
local out = {}
for i = 1, #KEYS / 2 do
  local a = 3 + (i - 1) * 4
  local value, head = false, ''
  if withValues then
    value = redis.call('GET', KEYS[2 * i - 1])
    if value then head = string.sub(value, 1, 16) end
  elseif redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    -- tostring: ioredis-mock hands Lua a byte buffer, not a string.
    head = tostring(redis.call('GETRANGE', KEYS[2 * i - 1], 0, 15))
  end
  local needed = true
  if string.len(head) == 16 and string.sub(head, 1, 3) == 'TC\\2' then
    local expiresAt = float64(head, 5)
    if expiresAt == 0 or expiresAt - tonumber(ARGV[a + 3]) > now then needed = false end
  elseif string.match(head, '^%-?%d+$') then
    needed = false
  end
  local token, mine = '', 0
  if needed then
    token = redis.call('GET', KEYS[2 * i])
    if (not token) or (ARGV[a + 2] == '1' and string.sub(token, 1, 1) ~= 'L') then
      token = ARGV[a]
      mine = 1
      redis.call('SET', KEYS[2 * i], token, 'PX', ARGV[a + 1])
    end
  end
  out[i] = { token, mine, value and 1 or 0, value or '' }
end
return out`,
)

/**
 * A lease without a read (forceFresh, refresh ahead, an entry a tag check turned into a miss). KEYS: lease.
 * ARGV: token, TTL, lock mode. Returns { token, 1 when this call took it }.
 */
export const TAKE_LEASE = new Script(
  'lease',
  `
local token = redis.call('GET', KEYS[1])
if (not token) or (ARGV[3] == '1' and string.sub(token, 1, 1) ~= 'L') then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { ARGV[1], 1 }
end
return { token, 0 }`,
)

/**
 * Records tag invalidations and announces them. KEYS: tag keys (one slot). ARGV: time, bus channel, bus message.
 * A creation mark (ENSURE_TAG) becomes an invalidation time. A tag's time only moves forward: an invalidation that timed out on its node and lands after a newer one must
 * not bring back what the newer one removed.
 */
export const INVALIDATE_TAGS = new Script(
  'SET (tags)',
  `${ANNOUNCE}
local time = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  local created = value and string.sub(value, 1, 1) == 'c'
  local current = value and tonumber(created and string.sub(value, 2) or value)
  if (not current) or current < time then redis.call('SET', key, ARGV[1])
  elseif created then redis.call('SET', key, string.sub(value, 2)) end
end
announce(ARGV[2], ARGV[3])
return #KEYS`,
)

/** Makes sure tag keys exist (Cluster: they live in another slot than the entry). KEYS: tag keys. ARGV: value. */
export const ENSURE_TAGS = new Script(
  'SET (tag keys)',
  `${ENSURE_TAG}
for _, key in ipairs(KEYS) do ensureTag(key, ARGV[1]) end
return #KEYS`,
)

/**
 * The first 16 bytes (an envelope header) of each key, '' when absent: what revalidation compares. ARGV: '1' on a
 * server whose GETRANGE of a missing key answers '' (Redis); '0' guards it with EXISTS (ioredis-mock fails there).
 */
export const HEADERS = new Script(
  'GETRANGE (revalidate)',
  `
local out = {}
for i, key in ipairs(KEYS) do
  if ARGV[1] == '1' then
    out[i] = redis.call('GETRANGE', key, 0, 15)
  elseif redis.call('EXISTS', key) == 1 then
    out[i] = tostring(redis.call('GETRANGE', key, 0, 15))
  else
    out[i] = ''
  end
end
return out`,
)
