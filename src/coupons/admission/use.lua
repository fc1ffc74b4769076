-- KEYS: coupon (or the holder's stock bucket), holders, used, outbox, memo, attempts, holds
-- ARGV: couponId, sequence, userId, eventId, orderId ('' for none), meta, fingerprint, memoTtlMs, userLimit, userLimitWindowMs,
--   lapseEventId, orderTotalMinor, currency ('' for no order total), dry ('1': a dry run, see dry_run), outboxMaxEntries (last)
-- The same rules, in the same order, as decideUse in ../rules/coupon-rules.ts.
local replayed = recall(KEYS[5], ARGV[7])
if replayed then return replayed end
local wait = over_limit_unless_dry(KEYS[6], ARGV[9], ARGV[10])
if wait then return {'RATE_LIMITED', tostring(wait)} end
local refusal, c, r, now = usable(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], 'bkn', 'mny', 'bsp', 'bgr')
if refusal then return refusal end
-- While a checkout holds it, only the holding order uses it, and that use confirms the hold.
local h = hold_of(redis.call('HGET', KEYS[7], ARGV[2]))
local held = in_force(h, now)
if held and h.o ~= ARGV[5] then return {'HELD_ELSEWHERE'} end
-- A coupon with a currency grants money (grantFor in ../rules/money.ts), in integer minor units.
local discount, m = nil, nil
if c[4] then
  m = cjson.decode(c[4])
  if ARGV[13] == '' then return {'ORDER_TOTAL_REQUIRED'} end
  if ARGV[13] ~= m.c then return {'CURRENCY_MISMATCH'} end
  local total = tonumber(ARGV[12])
  if m.t == 'A' then discount = math.min(m.v, total) else discount = math.floor(total * m.v / 100) end
  if m.cap then discount = math.min(discount, m.cap) end
  if m.bud and tonumber(c[5]) + discount > m.bud then return {'BUDGET_EXHAUSTED'} end
end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
if dry_run() then return {'WOULD_USE', tostring(discount or '')} end
end_lapsed(KEYS[7], KEYS[4], ARGV[1], ARGV[2], h, now, ARGV[11], ARGV[6])
local generation = (r and r.g or 0) + 1
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({ s = 'U', at = now, g = generation, u = ARGV[3], o = ARGV[5], d = discount }))
-- The nth use of this coupon: read models count uses as max(useSequence), which a redelivered event cannot inflate.
local use_seq = redis.call('HINCRBY', KEYS[1], 'usd', 1)
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', tonumber(ARGV[2])), userId = ARGV[3], useSequence = use_seq,
  orderId = order_or_null(ARGV[5]), useGeneration = generation }
-- A stock bucket (../buckets) counts its own uses.
if c[3] then data.bucket = tonumber(c[3]) end
if discount then
  data.discountMinor, data.orderTotalMinor, data.currency = discount, tonumber(ARGV[12]), m.c
  if m.bud then data.budgetSpentMinor, data.budgetRevision = redis.call('HINCRBY', KEYS[1], 'bsp', discount), redis.call('HINCRBY', KEYS[1], 'bgr', 1) end
end
if held then
  data.holdSequence = h.n
  h.e = 'U'
  redis.call('HSET', KEYS[7], ARGV[2], cjson.encode(h))
end
append(KEYS[4], 'CouponUsed', ARGV[4], ARGV[1], now, cjson.encode(data), ARGV[6], '3')
if discount then return remember(KEYS[5], ARGV[7], ARGV[8], {'USED', tostring(now), tostring(discount)}) end
return remember(KEYS[5], ARGV[7], ARGV[8], {'USED', tostring(now)})
