-- Records a job's result once, acknowledges its entry and counts it, in
-- one atomic step: a job delivered twice is recorded once, and an entry is
-- acknowledged exactly when its index is recorded.
-- KEYS: the jobs stream, the results hash, the meta hash.
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
else
  redis.call('HINCRBY', KEYS[3], 'duplicates', 1)
end
return stored
