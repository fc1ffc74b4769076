-- KEYS: coupon, holders, used, allow-list a, allow-list b, persons, staged holders, staged used, staged allow-list,
--       staged persons
-- ARGV: field, value, … (the coupon hash as the admission scripts keep it)
-- Puts a restored coupon in place in one step, only while Redis still lacks it. Its holders, uses, allow-list and persons
-- were written to keys of this restore's own, so two restores of one coupon never mix, and a coupon another
-- restore put back first (and that has admitted since) is never overwritten: this one's keys are dropped.
local staged = { KEYS[7], KEYS[8], KEYS[9], KEYS[10] }
local targets = { KEYS[2], KEYS[3], KEYS[4], KEYS[6] }
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', unpack(staged))
  return 0
end
for i, key in ipairs(staged) do
  local target = targets[i]
  if redis.call('EXISTS', key) == 1 then
    redis.call('RENAME', key, target)
    redis.call('PERSIST', target)
  else
    redis.call('DEL', target)
  end
end
redis.call('DEL', KEYS[5])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
