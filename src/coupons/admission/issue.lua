-- KEYS: coupon, holders, outbox, memo, attempts, allow-list a, allow-list b, persons, waiting-room passes
-- ARGV: couponId, userId, eventId, meta, fingerprint, memoTtlMs, userLimit, userLimitWindowMs, claims (JSON),
--       human ('1': a human check the verifier passed), pass (the person a verified Queue-Pass names, '' for
--       none), passExpiresAtMs (the expiry signed into it), dry ('1': a dry run, see dry_run), outboxMaxEntries (last)
-- The same rules, in the same order, as decideIssue in ../rules/coupon-rules.ts.
local replayed = recall(KEYS[4], ARGV[5])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'st', 'tot', 'iss', 'is', 'ie', 'vfs', 'vus', 'elc', 'ala', 'opc', 'hc', 'qr')
-- The bot gate before anything is counted: an asker without a passed human check takes nothing.
if c[11] and ARGV[10] ~= '1' then return {'HUMAN_CHECK_FAILED'} end
local wait = over_limit_unless_dry(KEYS[5], ARGV[7], ARGV[8])
if wait then return {'RATE_LIMITED', tostring(wait)} end
if not c[1] then return {'COUPON_NOT_FOUND'} end
local held = redis.call('HGET', KEYS[2], ARGV[2])
if held then return {'ALREADY_ISSUED', held} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED'} end
local now = now_ms()
if now < tonumber(c[4]) then return {'ISSUE_NOT_STARTED'} end
if now >= tonumber(c[5]) then return {'ISSUE_ENDED'} end
if tonumber(c[3]) >= tonumber(c[2]) then return {'SOLD_OUT'} end
local qualifying = true
if c[8] or c[9] then
  qualifying = eligible(c[8], c[9], { a = KEYS[6], b = KEYS[7] }, ARGV[2], ARGV[9])
  if not qualifying then return {'NOT_ELIGIBLE'} end
end
-- One per person: the person the token's claim names, whichever account asks.
local person
if c[10] then
  person = cjson.decode(ARGV[9])[c[10]]
  if type(person) ~= 'string' or person == '' then return {'IDENTITY_REQUIRED'} end
  if redis.call('HEXISTS', KEYS[8], person) == 1 then return {'PERSON_ALREADY_ISSUED'} end
end
-- A waiting room's coupon: the asker's own pass, live (queue-grant.lua grants them in turn).
if c[12] then
  local who = person or ARGV[2]
  if ARGV[11] ~= who then return {'PASS_REQUIRED'} end
  local live = redis.call('ZSCORE', KEYS[9], who)
  if (tonumber(ARGV[12]) or 0) <= now or not live or tonumber(live) <= now then return {'PASS_EXPIRED'} end
end
if backlogged(KEYS[3], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
if dry_run() then return {'WOULD_ISSUE'} end
local seq = redis.call('HINCRBY', KEYS[1], 'iss', 1)
redis.call('HSET', KEYS[2], ARGV[2], seq)
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', seq), userId = ARGV[2], validFrom = c[6], validUntil = c[7] }
if qualifying ~= true then data.claims = qualifying end
if person then
  redis.call('HSET', KEYS[8], person, seq)
  data.person = person
end
-- A pass admits once.
if c[12] then redis.call('ZREM', KEYS[9], person or ARGV[2]) end
append(KEYS[3], 'CouponIssued', ARGV[3], ARGV[1], now, cjson.encode(data), ARGV[4])
return remember(KEYS[4], ARGV[5], ARGV[6], {'ISSUED', tostring(seq), tostring(now), c[6], c[7]})
