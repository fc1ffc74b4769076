-- KEYS: coupon, holders, used, holds, outbox, memo, attempts
-- ARGV: couponId, sequence, userId, orderId, ttlMs, eventId, lapseEventId, meta, fingerprint, memoTtlMs, userLimit,
--   userLimitWindowMs, dry ('1': a dry run, see dry_run), outboxMaxEntries (last)
-- The same rules, in the same order, as decideHold in ../rules/decide-holds.ts.
local replayed = recall(KEYS[6], ARGV[9])
if replayed then return replayed end
local wait = over_limit_unless_dry(KEYS[7], ARGV[11], ARGV[12])
if wait then return {'RATE_LIMITED', tostring(wait)} end
local refusal, c, _, now = usable(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[3], 'bsh')
if refusal then return refusal end
-- A coupon split into stock buckets keeps no holds (the API refuses them; this holds whatever a restore made of it).
if c[3] then return {'HOLDS_NOT_OFFERED'} end
local h = hold_of(redis.call('HGET', KEYS[4], ARGV[2]))
if in_force(h, now) then
  if h.o == ARGV[4] then return {'ALREADY_HELD', tostring(h.x), tostring(h.n)} end
  return {'HELD_ELSEWHERE'}
end
if backlogged(KEYS[5], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
if dry_run() then return {'WOULD_HOLD', tostring(now + tonumber(ARGV[5]))} end
end_lapsed(KEYS[4], KEYS[5], ARGV[1], ARGV[2], h, now, ARGV[7], ARGV[8])
local n = redis.call('HINCRBY', KEYS[1], 'hld', 1)
local till = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[4], ARGV[2], cjson.encode({ o = ARGV[4], u = ARGV[3], x = till, n = n, e = '' }))
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', tonumber(ARGV[2])), userId = ARGV[3], orderId = ARGV[4], holdSequence = n, heldUntilMs = till }
append(KEYS[5], 'CouponHeld', ARGV[6], ARGV[1], now, cjson.encode(data), ARGV[8])
return remember(KEYS[6], ARGV[9], ARGV[10], {'HELD', tostring(till), tostring(n)})
