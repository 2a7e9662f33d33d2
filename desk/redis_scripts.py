"""The Redis desk's Lua scripts: the atomic commit, a heartbeat, and the one-time indexing of older data."""

# KEYS: queue, open, handoffs, agents, events, waiting, avail, tags, then one hash per written document.
# ARGV: n; per handoff 10 fields ('h', id, version, JSON, status, queue score or '', created ms, open
# '1'/'0', offered agent, timer deadline ms or ''); per agent 9 ('a', id, version, JSON, held, capacity,
# free '1'/'0', skills as a JSON list, a fresh random tag, also kept in ``tags`` by agent id for the
# workers' views); the guards (count, then document position, 'eq'/'lt', field, value); the events
# (count, stream MAXLEN, JSON each).
COMMIT = """
local n = tonumber(ARGV[1])
local p = 2
local docs = {}
for i = 1, n do
  local width = ARGV[p] == 'h' and 10 or 9
  docs[i] = {unpack(ARGV, p, p + width - 1)}
  p = p + width
end
for i = 1, n do
  local cur = redis.call('HGET', KEYS[8 + i], 'v') or '0'
  if cur ~= docs[i][3] then return {0, 'version', docs[i][2]} end
end
local g = tonumber(ARGV[p]); p = p + 1
for j = 1, g do
  local key = KEYS[8 + tonumber(ARGV[p])]
  local op, field, val = ARGV[p+1], ARGV[p+2], ARGV[p+3]
  p = p + 4
  local cur = redis.call('HGET', key, field)
  if op == 'eq' and cur ~= val then return {0, 'guard', field} end
  if op == 'lt' and tonumber(cur or '0') >= tonumber(val) then return {0, 'guard', field} end
end
for i = 1, n do
  local d = docs[i]
  local key = KEYS[8 + i]
  local v = tonumber(d[3]) + 1
  if d[1] == 'h' then
    redis.call('HSET', key, 'v', v, 'd', d[4], 'status', d[5], 'offered_to', d[9])
    if d[6] ~= '' then redis.call('ZADD', KEYS[1], d[6], d[2]) else redis.call('ZREM', KEYS[1], d[2]) end
    if d[8] == '1' then redis.call('ZADD', KEYS[2], d[7], d[2]) else redis.call('ZREM', KEYS[2], d[2]) end
    redis.call('ZADD', KEYS[3], d[7], d[2])
    if d[10] ~= '' then redis.call('ZADD', KEYS[6], d[10], d[2]) else redis.call('ZREM', KEYS[6], d[2]) end
  else
    redis.call('HSET', key, 'v', v, 'd', d[4], 'held', d[5], 'cap', d[6], 'skills', d[8], 'tag', d[9])
    redis.call('HSET', KEYS[8], d[2], d[9])
    redis.call('SADD', KEYS[4], d[2])
    if d[7] == '1' then redis.call('SADD', KEYS[7], d[2]) else redis.call('SREM', KEYS[7], d[2]) end
  end
end
local e = tonumber(ARGV[p]); p = p + 1
local maxlen = ARGV[p]; p = p + 1
for j = 1, e do
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', maxlen, '*', 'e', ARGV[p])
  p = p + 1
end
return {1, 'ok', ''}
"""

# Adds every open handoff whose indexed status is pending or offered to ``waiting`` (atomic, so no
# commit interleaves; idempotent). KEYS: open, waiting; ARGV[1]: the handoff hash key prefix.
INDEX_WAITING = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local status = redis.call('HGET', ARGV[1] .. ids[i], 'status')
  if status == 'pending' or status == 'offered' then redis.call('ZADD', KEYS[2], ids[i + 1], ids[i]) end
end
return #ids / 2
"""

# Indexes agents stored before ``avail`` existed (no ``skills`` field), and enters each document stored
# before ``tags`` existed in it (its tag, or '' for one without: read on every refresh until its next
# write); atomic and idempotent. KEYS: agents, avail, tags; ARGV[1]: the
# agent hash key prefix.
INDEX_AGENTS = """
local ids = redis.call('SMEMBERS', KEYS[1])
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local doc = redis.call('HGET', key, 'd')
  if doc and redis.call('HEXISTS', KEYS[3], id) == 0 then
    redis.call('HSET', KEYS[3], id, redis.call('HGET', key, 'tag') or '')
  end
  if doc and redis.call('HEXISTS', key, 'skills') == 0 then
    local a = cjson.decode(doc)
    local names = {}
    for s, _ in pairs(a.skills) do table.insert(names, s) end
    redis.call('HSET', key, 'skills', #names > 0 and cjson.encode(names) or '[]')
    if a.status == 'online' and #a.active_handoff_ids + #a.offered_handoff_ids < a.max_concurrent then
      redis.call('SADD', KEYS[2], id)
    end
  end
end
return #ids
"""

# KEYS: presence, the agent's alive key; ARGV: agent id, heartbeat (seconds since the epoch), the same as
# ISO text, the alive key's TTL in ms. Writes only where a heartbeat is held already (a registered agent)
# and returns the one it replaced; nil, writing nothing, for an id without one.
HEARTBEAT = """
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not old then return false end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return old
"""
