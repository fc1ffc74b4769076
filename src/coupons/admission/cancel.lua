-- KEYS: coupon, holders, used, outbox, memo
-- ARGV: couponId, sequence, userId ('' for an admin), orderId ('' for none), eventId, meta, fingerprint, memoTtlMs,
--   outboxMaxEntries (last)
-- The same rules, in the same order, as decideCancelUse in ../rules/coupon-rules.ts.
local replayed = recall(KEYS[5], ARGV[7])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'iss', 'vu')
if not c[1] then return {'ISSUED_COUPON_NOT_FOUND'} end
local seq = tonumber(ARGV[2])
if seq < 1 or seq > tonumber(c[1]) then return {'ISSUED_COUPON_NOT_FOUND'} end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], ARGV[3]) ~= ARGV[2] then return {'ISSUED_COUPON_NOT_FOUND'} end
local now = now_ms()
local status = 'ISSUED'
if now >= tonumber(c[2]) then status = 'EXPIRED' end
local r = redemption(redis.call('HGET', KEYS[3], ARGV[2]))
if not r or r.s == 'R' then return {'NOT_USED'} end
if r.s == 'C' then
  if r.o == ARGV[4] then return {'ALREADY_CANCELLED', status} end
  return {'NOT_USED'}
end
if r.o ~= ARGV[4] then return {'ORDER_MISMATCH'} end
-- Only a use recorded before cancellations existed lacks its holder; the holder can still cancel it.
local holder = r.u
if not holder then
  if ARGV[3] == '' then return {'HOLDER_UNKNOWN'} end
  holder = ARGV[3]
end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({ s = 'C', at = now, g = r.g, u = holder, o = r.o }))
local cancel_seq = redis.call('HINCRBY', KEYS[1], 'cnc', 1)
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', seq), userId = holder, orderId = order_or_null(r.o),
  useGeneration = r.g, cancelSequence = cancel_seq }
append(KEYS[4], 'CouponUseCancelled', ARGV[5], ARGV[1], now, cjson.encode(data), ARGV[6])
return remember(KEYS[5], ARGV[7], ARGV[8], {'USE_CANCELLED', status, tostring(r.g)})
