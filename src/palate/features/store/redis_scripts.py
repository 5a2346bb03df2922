"""Lua scripts that update feature state atomically inside Redis.

:data:`APPLY` takes every key of one hash tag (so each call stays in one cluster slot) with
updates already compacted by :class:`~palate.features.store.writes.WriteBatch`, packed as
binary doubles so that neither side spends time formatting numbers. The arithmetic is the one
of :mod:`palate.features.store.decay`; a ``tau`` of 0 means no decay. Times are epoch seconds.
"""

from __future__ import annotations

import math

APPLY = """
-- KEYS: keys sharing one hash tag. ARGV: four per key: op ('m' map, 'c' counter,
-- 'w' window), params, NUL-separated field names (maps), payload. Params and payloads are
-- little-endian doubles: map (tau, ttl_ms, max_fields) / cells (amount, ts);
-- counter (tau, ttl_ms, slots) / cells (slot, amount, ts);
-- window (ttl_ms, rings, then factor and buckets per ring) / cells (base bucket, amount).
local function decay(tau, dt)
  if tau <= 0 then return 1.0 end
  return math.exp(-dt / tau)
end

local function prune(key, tau, cap)
  -- Keep the 80 % of fields with the most weight at the map's latest time (ties: by name).
  local all = redis.call('HGETALL', key)
  local items, latest = {}, -math.huge
  for j = 1, #all, 2 do
    local v, r = struct.unpack('<dd', all[j + 1])
    items[#items + 1] = {all[j], v, r}
    if r > latest then latest = r end
  end
  for _, it in ipairs(items) do it[4] = it[2] * decay(tau, latest - it[3]) end
  table.sort(items, function(a, b)
    if a[4] ~= b[4] then return a[4] > b[4] end
    return a[1] < b[1]
  end)
  for j = math.max(1, math.floor(cap * 0.8)) + 1, #items do
    redis.call('HDEL', key, items[j][1])
  end
end

local function split(blob)
  local names, from = {}, 1
  while true do
    local stop = string.find(blob, '\0', from, true)
    names[#names + 1] = string.sub(blob, from, (stop or 0) - 1)
    if not stop then return names end
    from = stop + 1
  end
end

local CHUNK = 1000  -- fields per HMGET/HSET, well inside Lua's unpack limit

local function apply_map(key, params, names, payload)
  local tau, ttl, cap = struct.unpack('<ddd', params)
  names = split(names)
  for first = 1, #names, CHUNK do
    local last = math.min(first + CHUNK - 1, #names)
    local cells = redis.call('HMGET', key, unpack(names, first, last))
    local out = {}
    for i = first, last do
      local amount, ts = struct.unpack('<dd', payload, 16 * i - 15)
      local value, ref = amount, ts
      local cell = cells[i - first + 1]
      if cell and #cell == 16 then
        value, ref = struct.unpack('<dd', cell)
        if ts > ref then
          value = value * decay(tau, ts - ref) + amount
          ref = ts
        else
          value = value + amount * decay(tau, ref - ts)
        end
      end
      out[#out + 1] = names[i]
      out[#out + 1] = struct.pack('<dd', value, ref)
    end
    redis.call('HSET', key, unpack(out))
  end
  if redis.call('HLEN', key) > cap then prune(key, tau, cap) end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end

local function apply_counter(key, params, payload)
  local tau, ttl, n = struct.unpack('<ddd', params)
  local fmt = '<' .. string.rep('d', n + 1)
  local ref, vals = nil, {}
  local blob = redis.call('GET', key)
  if blob and #blob == 8 * (n + 1) then
    local t = {struct.unpack(fmt, blob)}
    ref = t[1]
    for j = 1, n do vals[j] = t[j + 1] end
  else
    for j = 1, n do vals[j] = 0.0 end
  end
  for pos = 1, #payload, 24 do
    local slot, amount, ts = struct.unpack('<ddd', payload, pos)
    if ref == nil then
      ref = ts
    elseif ts > ref then
      local f = decay(tau, ts - ref)
      for j = 1, n do vals[j] = vals[j] * f end
      ref = ts
    end
    vals[slot + 1] = vals[slot + 1] + amount * decay(tau, ref - ts)
  end
  redis.call('SET', key, struct.pack(fmt, ref, unpack(vals)), 'PX', string.format('%d', ttl))
end

local function add_to_ring(ring, bucket, amount)
  local n, counts = ring.n, ring.counts
  if ring.newest == nil or bucket > ring.newest then
    local start = bucket - n + 1
    if ring.newest ~= nil and ring.newest + 1 > start then start = ring.newest + 1 end
    for k = start, bucket do counts[(k % n) + 1] = 0.0 end
    ring.newest = bucket
  end
  if bucket > ring.newest - n then
    local s = (bucket % n) + 1
    counts[s] = counts[s] + amount
  end
end

local function apply_window(key, params, payload)
  local ttl, nrings = struct.unpack('<dd', params)
  local rings, fmt = {}, '<'
  for r = 1, nrings do
    local factor, n = struct.unpack('<dd', params, 1 + 16 * r)
    rings[r] = {factor = factor, n = n, counts = {}}
    fmt = fmt .. 'd' .. string.rep('f', n)
  end
  local blob = redis.call('GET', key)
  local t = (blob and #blob == struct.size(fmt)) and {struct.unpack(fmt, blob)} or nil
  local at = 1
  for _, ring in ipairs(rings) do
    ring.newest = t and t[at] or nil
    for j = 1, ring.n do ring.counts[j] = t and t[at + j] or 0.0 end
    at = at + ring.n + 1
  end
  for pos = 1, #payload, 16 do
    local base, amount = struct.unpack('<dd', payload, pos)
    for _, ring in ipairs(rings) do
      add_to_ring(ring, math.floor(base / ring.factor), amount)
    end
  end
  local out = {}
  for _, ring in ipairs(rings) do
    out[#out + 1] = ring.newest
    for j = 1, ring.n do out[#out + 1] = ring.counts[j] end
  end
  redis.call('SET', key, struct.pack(fmt, unpack(out)), 'PX', string.format('%d', ttl))
end

for i = 1, #KEYS do
  local op, params, names, payload = ARGV[4 * i - 3], ARGV[4 * i - 2], ARGV[4 * i - 1], ARGV[4 * i]
  if op == 'm' then
    apply_map(KEYS[i], params, names, payload)
  elseif op == 'c' then
    apply_counter(KEYS[i], params, payload)
  else
    apply_window(KEYS[i], params, payload)
  end
end
return #KEYS
"""

ACTIVATE = """
-- KEYS: ptr, state. ARGV: version, pointer JSON.
-- Returns the versions the activation supersedes, for the caller to delete.
local version = tonumber(ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[1]) ~= 'open' then
  return redis.error_reply('NOTOPEN snapshot version ' .. ARGV[1] .. ' is not open')
end
local old = {}
for _, v in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(v) < version then
    old[#old + 1] = v
    redis.call('HDEL', KEYS[2], v)
  end
end
redis.call('HSET', KEYS[2], ARGV[1], 'active')
redis.call('SET', KEYS[1], ARGV[2])
return old
"""


def tau_arg(tau: float) -> float:
    """``tau`` as the scripts take it: 0 for no decay.

    >>> tau_arg(math.inf), tau_arg(2.5)
    (0.0, 2.5)
    """
    return 0.0 if math.isinf(tau) else tau


def ttl_ms(ttl_s: float) -> int:
    """A TTL in whole milliseconds, at least 1."""
    return max(1, round(ttl_s * 1000))
