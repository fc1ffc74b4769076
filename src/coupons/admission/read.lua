-- KEYS: coupon, holders, used
-- ARGV: userId ('' to skip the caller's issuance)
-- The fast read path: the definition, live counts and the caller's issuance, with the admission clock.
local c = redis.call('HMGET', KEYS[1], 'def', 'st', 'iss', 'cl', 'ca', 'usd')
if not c[1] then return {} end
local seq, used_at = false, false
if ARGV[1] ~= '' then
  seq = redis.call('HGET', KEYS[2], ARGV[1])
  if seq then used_at = redis.call('HGET', KEYS[3], seq) end
end
return {c[1], c[2], c[3], c[4] or '', c[5], tostring(now_ms()), seq or '', used_at or '', c[6] or '0'}
