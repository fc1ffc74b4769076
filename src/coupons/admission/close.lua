-- KEYS: coupon, outbox, memo
-- ARGV: couponId, eventId, meta, fingerprint, memoTtlMs, gate ('' for none: see prelude's append), outboxMaxEntries (last)
local replayed = recall(KEYS[3], ARGV[4])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'st', 'cl')
if not c[1] then return {'COUPON_NOT_FOUND'} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED', c[2]} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local now = now_ms()
redis.call('HSET', KEYS[1], 'st', 'CLOSED', 'cl', now)
-- Bucket 0 of a coupon split into stock buckets: a bucket it opens from now on opens closed, even one whose
-- closed mark was lost with its node.
local cfg = redis.call('HGET', KEYS[1], 'cfg')
if cfg then
  cfg = cjson.decode(cfg)
  cfg.st = 'CLOSED'
  redis.call('HSET', KEYS[1], 'cfg', cjson.encode(cfg))
end
append(KEYS[2], 'CouponIssuanceClosed', ARGV[2], ARGV[1], now, '{}', ARGV[3], '1', ARGV[6])
-- API processes answering a sold-out coupon from memory learn that it is closed now (settled-coupons.ts).
redis.call('PUBLISH', 'coupon-closed', ARGV[1])
return remember(KEYS[3], ARGV[4], ARGV[5], {'CLOSED', tostring(now)})
