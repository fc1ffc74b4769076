-- KEYS: coupon, queue meta, pre-queue, line, outbox
-- ARGV: couponId, seed (used by the first call at or after the start), chunk, eventId, meta, outboxMaxEntries (last)
-- Places the pre-queue in the line at the start, by the keyed hash of a seed drawn then (queue-line.ts says the
-- same in TypeScript), a chunk per call so a pre-queue of millions never holds Redis long; the seed and the
-- pre-queue's size are recorded by the first call.
local c = redis.call('HMGET', KEYS[1], 'is', 'qr')
if not c[2] then return {'COUPON_NOT_FOUND'} end
local q = redis.call('HMGET', KEYS[2], 'sd', 'sc', 'sdone')
if q[3] then return {'SHUFFLED'} end
local seed = q[1]
if not seed then
  local now = now_ms()
  if now < tonumber(c[1]) then return {'NOT_STARTED'} end
  if backlogged(KEYS[5], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
  seed = ARGV[2]
  redis.call('HSET', KEYS[2], 'sd', seed, 'sc', 0)
  append(KEYS[5], 'CouponQueueShuffled', ARGV[4], ARGV[1], now, cjson.encode({ seed = seed, preQueue = redis.call('ZCARD', KEYS[3]) }), ARGV[5])
end
local from = tonumber(q[2] or 0)
local batch = redis.call('ZRANGE', KEYS[3], from, from + tonumber(ARGV[3]) - 1)
for _, person in ipairs(batch) do
  redis.call('ZADD', KEYS[4], tonumber(string.sub(redis.sha1hex(seed .. ':' .. person), 1, 13), 16), person)
end
from = from + #batch
redis.call('HSET', KEYS[2], 'sc', from)
if from < redis.call('ZCARD', KEYS[3]) then return {'SHUFFLING'} end
redis.call('HSET', KEYS[2], 'sdone', 1)
return {'SHUFFLED'}
