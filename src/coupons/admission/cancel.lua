-- KEYS: coupon, used, outbox, memo
-- ARGV: couponId, sequence, orderId ('' for none), eventId, meta, fingerprint, memoTtlMs, outboxMaxEntries (last)
-- The same rules, in the same order, as decideCancelUse in ../rules/coupon-rules.ts. Only the order system
-- or an admin cancels (the route checks who asks), for whoever holds the coupon.
local replayed = recall(KEYS[4], ARGV[6])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'iss', 'vu', 'rvu', 'rvk', 'bkn', 'bsp')
if not c[1] then return {'ISSUED_COUPON_NOT_FOUND'} end
local seq = tonumber(ARGV[2])
-- A stock bucket (the holder's, which holds the use) issues from ranges, not in order: its use record decides.
if seq < 1 or (not c[5] and seq > tonumber(c[1])) then return {'ISSUED_COUPON_NOT_FOUND'} end
local stored = redis.call('HGET', KEYS[2], ARGV[2])
local r = redemption(stored)
-- Recorded by an earlier version without what a cancellation is judged by: a use before cancellations (a bare
-- instant: no holder, no order), a revocation of a cancelled use before revocations kept its order. The caller
-- reads them from the log into Redis first.
if stored and (string.sub(stored, 1, 1) ~= '{' or (r.s == 'R' and (r.g or 0) > 0 and r.o == nil)) then return {'LEGACY_USE'} end
local now = now_ms()
local status = 'ISSUED'
if now >= tonumber(c[2]) then status = 'EXPIRED' end
if not r then return {'NOT_USED'} end
if r.s == 'C' then
  if r.o == ARGV[3] then return {'ALREADY_CANCELLED', status} end
  return {'NOT_USED'}
end
if r.s == 'R' then
  if (r.g or 0) > 0 and r.o == ARGV[3] then return {'ALREADY_CANCELLED', 'REVOKED'} end
  return {'NOT_USED'}
end
if r.o ~= ARGV[3] then return {'ORDER_MISMATCH'} end
if backlogged(KEYS[3], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local cancel_seq = redis.call('HINCRBY', KEYS[1], 'cnc', 1)
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', seq), userId = r.u, orderId = order_or_null(r.o),
  useGeneration = r.g, cancelSequence = cancel_seq }
local state = 'C'
-- Revoke-unused has run (a revoked total above zero says so for coupons revoked before 'rvu' was kept): the
-- coupon does not come back into use.
if c[3] or tonumber(c[4] or '0') > 0 then
  state, status = 'R', 'REVOKED'
  data.revokedCount = redis.call('HINCRBY', KEYS[1], 'rvk', 1)
end
-- A stock bucket counts its own cancellations and revocations.
if c[5] then data.bucket = tonumber(c[5]) end
-- The use's grant goes back to the budget (`bsp` exists only on a coupon with one).
if r.d and c[6] then data.budgetSpentMinor, data.budgetRevision = redis.call('HINCRBY', KEYS[1], 'bsp', -r.d), redis.call('HINCRBY', KEYS[1], 'bgr', 1) end
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode({ s = state, at = now, g = r.g, u = r.u, o = r.o }))
append(KEYS[3], 'CouponUseCancelled', ARGV[4], ARGV[1], now, cjson.encode(data), ARGV[5], '2')
return remember(KEYS[4], ARGV[6], ARGV[7], {'USE_CANCELLED', status, tostring(r.g)})
