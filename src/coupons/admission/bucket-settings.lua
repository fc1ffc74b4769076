-- KEYS: bucket, outbox
-- ARGV: couponId, bucket, settings (bucket 0's `cfg`, JSON), windowEventId, claimsEventId, meta, outboxMaxEntries (last)
-- Carries the coupon's window and required claims, as bucket 0 holds them after a change, to one other stock
-- bucket: each taken only over an older revision (take_settings), and announced in the bucket's own outbox
-- (CouponIssueWindowChanged / CouponEligibilityChanged with `bucket`), so the log puts each of its issues after
-- the settings it was decided by. A bucket holding no stock yet keeps them for its opening, even one whose opening
-- is in flight (given before this change, with older settings: take_settings keeps these newer ones); on a bucket
-- lost with its node they stay without stock, which never makes the bucket again.
local window, claims = take_settings(KEYS[1], cjson.decode(ARGV[3]))
if not window and not claims then return {'HELD'} end
local w, c = bucket_settings(KEYS[1])
local now, bucket = now_ms(), tonumber(ARGV[2])
if window and w then
  w.bucket = bucket
  append(KEYS[2], 'CouponIssueWindowChanged', ARGV[4], ARGV[1], now, cjson.encode(w), ARGV[6], '2')
end
if claims and c then
  c.bucket = bucket
  append(KEYS[2], 'CouponEligibilityChanged', ARGV[5], ARGV[1], now, cjson.encode(c), ARGV[6], '2')
end
return {'TAKEN'}
