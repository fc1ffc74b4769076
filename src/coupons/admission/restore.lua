-- KEYS: coupon
-- ARGV: field, value, … (the coupon hash as the admission scripts keep it)
-- Written last and only if absent: holders and uses are already in place, and a coupon someone
-- admitted against in the meantime is never overwritten.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
