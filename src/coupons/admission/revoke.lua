-- KEYS: coupon, holders, used, outbox
-- ARGV: couponId, eventId, meta, n, then n pairs userId, sequence (at most 1,000), outboxMaxEntries (last)
-- One chunk of a revoke-unused run, as decideRevoke in ../rules/coupon-rules.ts: each named holder's coupon is
-- revoked unless in use or revoked already, so a chunk sent twice revokes nothing the second time. The run's
-- first chunk marks revoke-unused in force ('rvu') and is recorded even when it revokes nothing.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'COUPON_NOT_FOUND'} end
local revoke = {}
local n = tonumber(ARGV[4])
for i = 5, 3 + 2 * n, 2 do
  local user, seq = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[2], user) == seq then
    local r = redemption(redis.call('HGET', KEYS[3], seq))
    if (not r or r.s == 'C') and not revoke[seq] then
      revoke[seq] = true
      revoke[#revoke + 1] = { user, seq, r and r.g or 0, r and r.o or '' }
    end
  end
end
local first = redis.call('HEXISTS', KEYS[1], 'rvu') == 0
if #revoke == 0 and not first then return {'REVOKED', '0', tostring(redis.call('HGET', KEYS[1], 'rvk') or 0)} end
if backlogged(KEYS[4], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
if first then redis.call('HSET', KEYS[1], 'rvu', '1') end
local now = now_ms()
local revoked = {}
for _, v in ipairs(revoke) do
  redis.call('HSET', KEYS[3], v[2], cjson.encode({ s = 'R', at = now, g = v[3], u = v[1], o = v[4] }))
  revoked[#revoked + 1] = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', tonumber(v[2])), userId = v[1] }
end
local total = redis.call('HINCRBY', KEYS[1], 'rvk', #revoked)
-- An empty Lua table encodes as an object: the event's list must stay a list.
local list = cjson.encode(revoked)
if #revoked == 0 then list = '[]' end
-- A stock bucket counts its own revocations.
local bucket = redis.call('HGET', KEYS[1], 'bkn')
if bucket then bucket = ',"bucket":' .. bucket else bucket = '' end
append(KEYS[4], 'CouponsRevoked', ARGV[2], ARGV[1], now, '{"revoked":' .. list .. ',"revokedCount":' .. total .. bucket .. '}', ARGV[3], '2')
return {'REVOKED', tostring(#revoked), tostring(total)}
