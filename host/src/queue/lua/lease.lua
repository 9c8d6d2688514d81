-- Sets the idle time of the entries a consumer still holds: 0 renews their
-- leases, a very long one hands them back for any consumer to take over at
-- once. An entry another consumer took over stays that consumer's, and
-- JUSTID leaves the delivery count alone.
-- KEYS: the jobs stream. ARGV: the group, the consumer, the idle time in
-- ms, then the entries' ids.
local set = 0
for i = 4, #ARGV do
  local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #held > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    set = set + 1
  end
end
return set
