-- Parks a job a plugin asked to retry later, in one atomic step: its entry
-- is acknowledged and deleted, and the job waits in the retries sorted
-- set, scored by when it is due by the server's clock (ms), with its
-- attempts so far beside it in the retry-jobs hash ("ATTEMPTS JOB-LINE").
-- Meanwhile it belongs to no process. A job recorded already, or whose
-- entry is gone (another delivery of it ended first), is not parked.
-- KEYS: the jobs stream, the results hash, the retries sorted set, the
-- retry-jobs hash.
-- ARGV: the group, the entry's id, the job's index, the delay in ms, the
-- attempts made.
local entry = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if #entry == 0 or redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then
  return 0
end
local fields, job = entry[1][2], nil
for i = 1, #fields, 2 do
  if fields[i] == 'job' then
    job = fields[i + 1]
  end
end
if not job then
  return 0
end
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], due, ARGV[3])
redis.call('HSET', KEYS[4], ARGV[3], ARGV[5] .. ' ' .. job)
return 1
