-- KEYS: bucket, outbox
-- ARGV: none
-- Closes issuing in one stock bucket (a bucket not yet holding stock keeps the mark for when it does). Answers
-- the newest entry of the bucket's outbox: the coupon's CouponIssuanceClosed is sent only after it, so the log
-- never shows an issue after the close ('0-0' when the outbox is empty).
redis.call('HSET', KEYS[1], 'st', 'CLOSED')
local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
if newest then return {'CLOSED', newest[1]} end
return {'CLOSED', '0-0'}
