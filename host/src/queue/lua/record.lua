-- Records a batch of results, each once, acknowledging each one's entry
-- and counting it, in one atomic step: a job delivered twice is recorded
-- once, and an entry is acknowledged exactly when its index is recorded.
-- One call for the batch: a script call costs Redis more than the
-- commands of one result. The results stored are also counted in the rate
-- hash, under the current second of the server's clock, for `status`; a
-- new second drops the seconds older than a minute.
-- KEYS: the jobs stream, the results hash, the meta hash, the rate hash,
-- the list of the indexes recorded, in the order they were.
-- ARGV: the group, then per result: the entry's id, the job's index, the
-- record, "1" for a failure ("0" else).
-- Returns, per result, 1 if its record is the one stored, else 0.
local stored, recorded, failed, duplicates = {}, 0, 0, 0
for at = 2, #ARGV, 4 do
  local id, index, record, failure = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local new = redis.call('HSETNX', KEYS[2], index, record)
  redis.call('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
  stored[#stored + 1] = new
  if new == 1 then
    redis.call('RPUSH', KEYS[5], index)
    recorded = recorded + 1
    if failure == '1' then
      failed = failed + 1
    end
  else
    duplicates = duplicates + 1
  end
end
if recorded > 0 then
  redis.call('HINCRBY', KEYS[3], 'recorded', recorded)
  if failed > 0 then
    redis.call('HINCRBY', KEYS[3], 'failed', failed)
  end
  local second = tonumber(redis.call('TIME')[1])
  if redis.call('HINCRBY', KEYS[4], second, recorded) == recorded then
    for _, kept in ipairs(redis.call('HKEYS', KEYS[4])) do
      if tonumber(kept) < second - 61 then
        redis.call('HDEL', KEYS[4], kept)
      end
    end
  end
end
if duplicates > 0 then
  redis.call('HINCRBY', KEYS[3], 'duplicates', duplicates)
end
return stored
