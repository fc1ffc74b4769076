-- KEYS: coupon, used, holds, outbox
-- ARGV: couponId, sequence, holdSequence, eventId, meta, outboxMaxEntries (last)
-- The expiry timer's step, as decideExpireHold in ../rules/decide-holds.ts: hold `holdSequence` ended once it
-- lapsed, unless something ended it first. Any number of timers may ask; one event is written.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'ISSUED_COUPON_NOT_FOUND'} end
local h = hold_of(redis.call('HGET', KEYS[3], ARGV[2]))
if not h or tonumber(h.n) ~= tonumber(ARGV[3]) or h.e ~= '' then return {'NOT_HELD'} end
local r = redemption(redis.call('HGET', KEYS[2], ARGV[2]))
if r and r.s == 'R' then return {'NOT_HELD'} end
local now = now_ms()
if tonumber(h.x) > now then return {'NOT_DUE'} end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
end_hold(KEYS[3], KEYS[4], ARGV[1], ARGV[2], h, 'EXPIRED', now, ARGV[4], ARGV[5])
return {'EXPIRED'}
