-- KEYS: bucket, holders, outbox, memo, attempts, allow-list a, allow-list b
-- ARGV: couponId, userId, eventId, meta, fingerprint, memoTtlMs, userLimit, userLimitWindowMs, claims (JSON), bucket,
--       then a transfer to take in first ('' transferId for none): transferId, fromBucket, first, last, settings (JSON),
--       opens ('1': it opens this bucket), receivedEventId, gate, counted ('1': an earlier round of this request counted the attempt),
--       human ('1': a human check the verifier passed), outboxMaxEntries (last)
-- issue.lua for one stock bucket of a coupon split into buckets (../buckets): the same rules in the same order,
-- with the sequence taken from the bucket's ranges. A dry bucket answers DRY (the caller moves stock here from
-- another bucket and asks again, or finds the coupon sold out); SOLD_OUT once the coupon was found sold out;
-- LIST_PENDING while it lacks the allow-list its opening settings name;
-- NO_BUCKET for a bucket not opened yet or lost (receive_stock).
if ARGV[11] ~= '' and receive_stock(KEYS[1], KEYS[3], ARGV[1], ARGV[11], ARGV[12], ARGV[10], ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[17], ARGV[4], ARGV[18], now_ms()) == 'BUCKET_LOST' then
  return {'NO_BUCKET'}
end
local replayed = recall(KEYS[4], ARGV[5])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'st', 'so', 'is', 'ie', 'vfs', 'vus', 'elc', 'cfg', 'tk', 'lo', 'hi', 'more', 'ala', 'alw', 'alr', 'hc')
if not c[8] then return {'NO_BUCKET'} end
if c[16] and ARGV[20] ~= '1' then return {'HUMAN_CHECK_FAILED'} end
-- An asker sent round again after their bucket ran dry made one attempt, not one per round.
if ARGV[19] ~= '1' then
  local wait = over_limit(KEYS[5], ARGV[7], ARGV[8])
  if wait then return {'RATE_LIMITED', tostring(wait)} end
end
local held = redis.call('HGET', KEYS[2], ARGV[2])
if held then return {'ALREADY_ISSUED', held} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED'} end
local now = now_ms()
if now < tonumber(c[3]) then return {'ISSUE_NOT_STARTED'} end
if now >= tonumber(c[4]) then return {'ISSUE_ENDED'} end
-- A mark made at the coupon's total as this bucket last knew it (stock added since makes it ask again), on a bucket
-- holding nothing; before the claims, as for a coupon not split, so a sold-out coupon answers anyone alike (and as
-- the sold-out memory does).
if holds_none(c[10], c[11], c[12]) and c[2] and (not c[9] or tonumber(c[2]) >= tonumber(c[9])) then return {'SOLD_OUT'} end
-- Opened after an allow-list change its carry has not brought here yet: the caller carries it and asks again.
if c[14] and tonumber(c[14]) > tonumber(c[15] or '0') then return {'LIST_PENDING'} end
local qualifying = true
-- The bucket's share of the allow-list in force ('' once the list was removed: bucket-allow-list.lua).
local ala = c[13]
if ala == '' then ala = nil end
if c[7] or ala then
  qualifying = eligible(c[7], ala, { a = KEYS[6], b = KEYS[7] }, ARGV[2], ARGV[9])
  if not qualifying then return {'NOT_ELIGIBLE'} end
end
if backlogged(KEYS[3], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local seq = take_sequence(KEYS[1], c[10], c[11], c[12])
if not seq then return {'DRY'} end
local n = redis.call('HINCRBY', KEYS[1], 'iss', 1)
redis.call('HSET', KEYS[2], ARGV[2], seq)
local data = { issuedCouponId = ARGV[1] .. '.' .. string.format('%08d', seq), userId = ARGV[2], validFrom = c[5], validUntil = c[6],
  bucket = tonumber(ARGV[10]), bucketIssued = n }
if qualifying ~= true then data.claims = qualifying end
append(KEYS[3], 'CouponIssued', ARGV[3], ARGV[1], now, cjson.encode(data), ARGV[4])
return remember(KEYS[4], ARGV[5], ARGV[6], {'ISSUED', tostring(seq), tostring(now), c[5], c[6]})
