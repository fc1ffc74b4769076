-- KEYS: bucket, outbox
-- ARGV: couponId, bucket, settings (bucket 0's `cfg`, JSON), windowEventId, claimsEventId, meta, opened ('1': bucket 0
--       opened this bucket), outboxMaxEntries (last)
-- Carries the coupon's window and required claims, as bucket 0 holds them after a change, to one other stock
-- bucket: each taken only over an older revision (take_settings), and announced in the bucket's own outbox
-- (CouponIssueWindowChanged / CouponEligibilityChanged with `bucket`), so the log puts each of its issues after
-- the settings it was decided by. A bucket not opened yet keeps them for its opening; one opened and gone was
-- lost and is not made again.
if redis.call('HEXISTS', KEYS[1], 'cfg') == 0 and ARGV[7] == '1' then return {'NO_BUCKET'} end
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
