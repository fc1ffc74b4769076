-- KEYS: bucket (the taker), outbox
-- ARGV: couponId, transferId, fromBucket, toBucket, first, last, settings (JSON), opens ('1': the transfer opens the bucket),
--       eventId, meta, gate, bounded ('1': refused past the outbox bound; the relay's is not, as it is what drains outboxes),
--       outboxMaxEntries (last)
-- Takes in a transfer bucket-give.lua recorded, when no asker took it in with their issue: the coupon's spread at
-- its creation, and the relay completing one whose process died halfway. Once per transfer id.
if ARGV[12] == '1' and redis.call('HEXISTS', KEYS[1], 'x:' .. ARGV[2]) == 0 and backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
return {receive_stock(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], now_ms())}
