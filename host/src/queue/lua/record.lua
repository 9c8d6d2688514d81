-- Records a job's result once, acknowledges its entry and counts it, in
-- one atomic step: a job delivered twice is recorded once, and an entry is
-- acknowledged exactly when its index is recorded. A stored result is also
-- counted in the rate hash, per second of the server's clock, for
-- `status`: a new second drops the seconds older than a minute.
-- KEYS: the jobs stream, the results hash, the meta hash, the rate hash.
-- ARGV: the group, the entry's id, the job's index, the record, "1" for a
-- failure ("0" else).
local stored = redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if stored == 1 then
  redis.call('HINCRBY', KEYS[3], 'recorded', 1)
  if ARGV[5] == '1' then
    redis.call('HINCRBY', KEYS[3], 'failed', 1)
  end
  local second = tonumber(redis.call('TIME')[1])
  if redis.call('HINCRBY', KEYS[4], second, 1) == 1 then
    for _, kept in ipairs(redis.call('HKEYS', KEYS[4])) do
      if tonumber(kept) < second - 61 then
        redis.call('HDEL', KEYS[4], kept)
      end
    end
  end
else
  redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
end
return stored
