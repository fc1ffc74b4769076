-- KEYS: coupon, holders, used
-- ARGV: userId ('' to skip the caller's issuance)
-- The fast read path: the definition, live counts and the caller's issuance, with the admission clock.
local c = redis.call('HMGET', KEYS[1], 'def', 'st', 'iss', 'cl', 'ca', 'usd', 'cnc', 'rvk', 'elc', 'alav', 'als', 'bsp')
if not c[1] then return {} end
local seq, state, at = issuance(KEYS[2], KEYS[3], ARGV[1])
return {c[1], c[2], c[3], c[4] or '', c[5], tostring(now_ms()), seq or '', state, at, c[6] or '0', c[7] or '0', c[8] or '0',
  c[9] or '', c[10] or '', c[11] or '', c[12] or '0'}
