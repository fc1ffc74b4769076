-- KEYS: bucket
-- ARGV: total (the coupon's total after stock was added)
-- A bucket's sold-out mark stands only for the total it was made at ('so' = 'tk'): raising 'tk' (never lowering
-- it, whatever order two additions' reopenings arrive in) makes an older mark, or one made late from an older
-- reading, ask for stock again.
local known = tonumber(redis.call('HGET', KEYS[1], 'tk') or '0')
if tonumber(ARGV[1]) > known then redis.call('HSET', KEYS[1], 'tk', ARGV[1]) end
return {'REOPENED'}
