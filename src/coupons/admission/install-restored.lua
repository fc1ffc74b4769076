-- KEYS: coupon, allow-list b, then pairs of a key and the restore's staged copy of it (holders, uses, allow-list a,
--       persons, and a waiting room's keys)
-- ARGV: field, value, … (the coupon hash as the admission scripts keep it)
-- Puts a restored coupon in place in one step, only while Redis still lacks it. Everything but its hash was written
-- to keys of this restore's own, so two restores of one coupon never mix, and a coupon another restore put back
-- first (and that has admitted since) is never overwritten: this one's keys are dropped.
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 4, #KEYS, 2 do redis.call('DEL', KEYS[i]) end
  return 0
end
for i = 3, #KEYS, 2 do
  local target, staged = KEYS[i], KEYS[i + 1]
  if redis.call('EXISTS', staged) == 1 then
    redis.call('RENAME', staged, target)
    redis.call('PERSIST', target)
  else
    redis.call('DEL', target)
  end
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
