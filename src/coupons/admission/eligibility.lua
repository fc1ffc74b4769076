-- KEYS: coupon, outbox, memo
-- ARGV: couponId, eventId, meta, requiredClaims (JSON; '' for none), fingerprint, memoTtlMs, outboxMaxEntries (last)
-- The claims required of callers from now on, atomically with every admission of the coupon.
local replayed = recall(KEYS[3], ARGV[5])
if replayed then return replayed end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'COUPON_NOT_FOUND'} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local required = cjson.null
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], 'elc')
else
  redis.call('HSET', KEYS[1], 'elc', ARGV[4])
  required = cjson.decode(ARGV[4])
end
local revision = next_revision(KEYS[1])
-- A coupon split into stock buckets keeps them for the other buckets too (stock-buckets.ts carries them there).
local cfg = redis.call('HGET', KEYS[1], 'cfg')
if cfg then
  cfg = cjson.decode(cfg)
  cfg.elc, cfg.crv = nil, revision
  if ARGV[4] ~= '' then cfg.elc = ARGV[4] end
  redis.call('HSET', KEYS[1], 'cfg', cjson.encode(cfg))
end
append(KEYS[2], 'CouponEligibilityChanged', ARGV[2], ARGV[1], now_ms(), cjson.encode({ requiredClaims = required, revision = revision }), ARGV[3], '2')
return remember(KEYS[3], ARGV[5], ARGV[6], {'ELIGIBILITY_CHANGED'})
