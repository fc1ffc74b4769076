-- KEYS: coupon, allow-list a, allow-list b
-- ARGV: userId
-- Whether the user is on the coupon's allow-list in force (1), or the coupon has none (1), or not (0): read-only.
local ala = redis.call('HGET', KEYS[1], 'ala')
if not ala then return 1 end
local list = KEYS[2]
if ala == 'b' then list = KEYS[3] end
return redis.call('SISMEMBER', list, ARGV[1])
