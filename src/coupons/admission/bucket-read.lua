-- KEYS: bucket, holders, used
-- ARGV: userId ('' to skip the caller's issuance)
-- One stock bucket's live counts (issued, used, cancelled, revoked there), the coupon's total
-- (bucket 0 holds it) and, named, the caller's issuance if this is their bucket.
local c = redis.call('HMGET', KEYS[1], 'iss', 'usd', 'cnc', 'rvk', 'tot')
local seq, state, at = issuance(KEYS[2], KEYS[3], ARGV[1])
return {c[1] or '0', c[2] or '0', c[3] or '0', c[4] or '0', seq or '', state, at, c[5] or ''}
