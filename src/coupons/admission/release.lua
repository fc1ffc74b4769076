-- KEYS: coupon, used, holds, outbox, memo
-- ARGV: couponId, sequence, orderId, eventId, meta, fingerprint, memoTtlMs, holdSequence ('' when not named), outboxMaxEntries (last)
-- The same rules, in the same order, as decideRelease in ../rules/decide-holds.ts. Only the order system or an
-- admin releases (the route checks who asks).
local replayed = recall(KEYS[5], ARGV[6])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'iss', 'vu', 'bsh')
if not c[1] then return {'ISSUED_COUPON_NOT_FOUND'} end
local seq = tonumber(ARGV[2])
if seq < 1 or seq > tonumber(c[1]) then return {'ISSUED_COUPON_NOT_FOUND'} end
-- A coupon split into stock buckets keeps no holds (the API refuses them; this holds whatever a restore made of it).
if c[3] then return {'HOLDS_NOT_OFFERED'} end
local r = redemption(redis.call('HGET', KEYS[2], ARGV[2]))
if r and r.s == 'R' then return {'COUPON_REVOKED'} end
local h = hold_of(redis.call('HGET', KEYS[3], ARGV[2]))
if not h then return {'NOT_HELD'} end
local now = now_ms()
local status = 'ISSUED'
if r and r.s == 'U' then status = 'USED' elseif now >= tonumber(c[2]) then status = 'EXPIRED' end
if ARGV[8] ~= '' and tonumber(ARGV[8]) ~= tonumber(h.n) then
  if tonumber(ARGV[8]) < tonumber(h.n) then return {'ALREADY_RELEASED', status} end
  return {'NOT_HELD'}
end
if h.o ~= ARGV[3] then
  if in_force(h, now) then return {'ORDER_MISMATCH'} end
  return {'NOT_HELD'}
end
if h.e == 'U' and r and r.s == 'U' and r.o == ARGV[3] then return {'ALREADY_USED', tostring(r.at)} end
if h.e ~= '' then return {'ALREADY_RELEASED', status} end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local reason = 'RELEASED'
if tonumber(h.x) <= now then reason = 'EXPIRED' end
end_hold(KEYS[3], KEYS[4], ARGV[1], ARGV[2], h, reason, now, ARGV[4], ARGV[5])
return remember(KEYS[5], ARGV[6], ARGV[7], {'RELEASED', status})
