-- Moves the parked retries that are due by the server's clock back into
-- the jobs stream, each as a new entry with its attempts ("a"), for any
-- process to take; atomically, so none is moved twice. One recorded in
-- the meantime (another delivery of it finished) is dropped.
-- KEYS: the jobs stream, the results hash, the retries sorted set, the
-- retry-jobs hash. ARGV: the most to move.
-- Returns how many were moved.
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ms, 'LIMIT', 0, tonumber(ARGV[1]))
local moved = 0
for _, index in ipairs(due) do
  local parked = redis.call('HGET', KEYS[4], index)
  redis.call('ZREM', KEYS[3], index)
  redis.call('HDEL', KEYS[4], index)
  if parked and redis.call('HEXISTS', KEYS[2], index) == 0 then
    local space = string.find(parked, ' ', 1, true)
    redis.call('XADD', KEYS[1], '*', 'i', index, 'job', string.sub(parked, space + 1),
      'a', string.sub(parked, 1, space - 1))
    moved = moved + 1
  end
end
return moved
