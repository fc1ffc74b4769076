-- KEYS: coupon, outbox, memo
-- ARGV: couponId, eventId, meta, add, maxTotal, fingerprint, memoTtlMs, outboxMaxEntries (last)
-- The same rules, in the same order, as decideAddStock in ../rules/coupon-rules.ts. Atomic with every
-- admission: an issue decided before this call sees the old total, one after it the new one.
local replayed = recall(KEYS[3], ARGV[6])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'st', 'tot', 'def', 'bsh')
if not c[1] then return {'COUPON_NOT_FOUND'} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED'} end
local total = tonumber(c[2]) + tonumber(ARGV[4])
if total > tonumber(ARGV[5]) then return {'STOCK_LIMIT'} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local now = now_ms()
local def = cjson.decode(c[3])
def.totalQuantity = total
redis.call('HSET', KEYS[1], 'tot', total, 'def', cjson.encode(def))
-- A coupon in stock buckets (stock-buckets.ts): the new sequences are bucket 0's, for the others to take as they
-- run dry, and no bucket may answer SOLD_OUT from a mark made at an older total (bucket-reopen.lua; bucket 0's here,
-- the others' after).
if c[4] then
  local more = redis.call('HGET', KEYS[1], 'more')
  local range = (tonumber(c[2]) + 1) .. '-' .. total
  if more and more ~= '' then range = more .. ',' .. range end
  redis.call('HSET', KEYS[1], 'more', range, 'tk', total)
end
append(KEYS[2], 'CouponStockAdded', ARGV[2], ARGV[1], now, cjson.encode({ add = tonumber(ARGV[4]), totalQuantity = total }), ARGV[3])
-- API processes answering a sold-out coupon from memory must ask Redis again (settled-coupons.ts).
redis.call('PUBLISH', 'coupon-reopened', ARGV[1])
return remember(KEYS[3], ARGV[6], ARGV[7], {'STOCK_ADDED', tostring(total)})
