-- KEYS: bucket (the giver), outbox
-- ARGV: couponId, transferId, fromBucket, toBucket, count ('' for half what the bucket holds), eventId, meta, opening
--       ('1': bucket 0 opening bucket toBucket; 'OPENED' when it was opened before), outboxMaxEntries (last)
-- Moves unissued sequences out of a stock bucket toward another, recorded as CouponStockMoved; the taker takes
-- them in with the same transfer id (bucket-issue.lua, bucket-receive.lua), and the relay, before it sends this
-- entry, makes sure it did (so stock never stays in flight past a process that died). Sent again with the same
-- transfer id, answers what it gave the first time. Bucket 0 records each bucket it opened ('op:<n>', the opening's
-- transfer id), so a bucket found missing later is known lost rather than opened again, and a close can finish an
-- opening still in flight (stock-buckets.ts).
local given = redis.call('HGET', KEYS[1], 'o:' .. ARGV[2])
if given then
  local first, last, entry = string.match(given, '^(%d+)-(%d+)-(.+)$')
  return {'GIVEN', first, last, entry, redis.call('HGET', KEYS[1], 'cfg')}
end
if ARGV[8] == '1' and redis.call('HEXISTS', KEYS[1], 'op:' .. ARGV[4]) == 1 then return {'OPENED'} end
local s = redis.call('HMGET', KEYS[1], 'lo', 'hi', 'more', 'cfg')
if not s[4] then return {'NO_BUCKET'} end
local lo, hi, more = tonumber(s[1] or '1'), tonumber(s[2] or '0'), s[3] or ''
if lo > hi and more ~= '' then
  local first, last, rest = string.match(more, '^(%d+)-(%d+),?(.*)$')
  lo, hi, more = tonumber(first), tonumber(last), rest
end
-- Opening gives what there is, possibly nothing: a bucket must open even when bucket 0 ran dry.
if lo > hi and ARGV[8] ~= '1' then return {'DRY'} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local count = 0
if lo <= hi then
  count = math.ceil((hi - lo + 1) / 2)
  if ARGV[5] ~= '' then count = math.min(tonumber(ARGV[5]), hi - lo + 1) end
end
local first, last = hi - count + 1, hi
if count > 0 then redis.call('HSET', KEYS[1], 'lo', lo, 'hi', first - 1, 'more', more) end
local data = { transferId = ARGV[2], fromBucket = tonumber(ARGV[3]), toBucket = tonumber(ARGV[4]), first = first, last = last }
if ARGV[8] == '1' then
  data.opens = true
  redis.call('HSET', KEYS[1], 'op:' .. ARGV[4], ARGV[2])
end
local entry = append(KEYS[2], 'CouponStockMoved', ARGV[6], ARGV[1], now_ms(), cjson.encode(data), ARGV[7])
redis.call('HSET', KEYS[1], 'o:' .. ARGV[2], first .. '-' .. last .. '-' .. entry)
return {'GIVEN', tostring(first), tostring(last), entry, s[4]}
