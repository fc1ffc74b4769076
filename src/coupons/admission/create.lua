-- KEYS: coupon, outbox, memo
-- ARGV: couponId, eventId, meta, data (CouponCreated data JSON), total, issueStart, issueEnd, validFrom, validUntil (ms),
--       validFrom, validUntil (ISO, copied into each CouponIssued), fingerprint, memoTtlMs, requiredClaims (JSON, '' for none),
--       allowList ('1': only an uploaded list's users, none until one is), buckets (stock buckets, 1 for none),
--       bucketShards (each bucket's shard, comma-separated), onePer (the person claim, '' for one per account),
--       humanCheck ('1': issues need a verified human check), admitPerSecond, passTtlSeconds, preQueueFrom (ms)
--       (a waiting room's: '' for a coupon that opens directly), money (the `mny` field, '' for a coupon without a
--       currency; with a budget, `bsp` counts what it spent and `bgr` its changes), outboxMaxEntries (last)
local replayed = recall(KEYS[3], ARGV[12])
if replayed then return replayed end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'COUPON_EXISTS'} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local now = now_ms()
redis.call('HSET', KEYS[1], 'st', 'ACTIVE', 'tot', ARGV[5], 'iss', 0, 'is', ARGV[6], 'ie', ARGV[7], 'vf', ARGV[8],
  'vu', ARGV[9], 'vfs', ARGV[10], 'vus', ARGV[11], 'def', ARGV[4], 'ca', now)
if ARGV[14] ~= '' then redis.call('HSET', KEYS[1], 'elc', ARGV[14]) end
-- The empty list, version 0, in force until the first upload.
if ARGV[15] == '1' then redis.call('HSET', KEYS[1], 'ala', 'a', 'alav', 0, 'als', 0) end
if ARGV[18] ~= '' then redis.call('HSET', KEYS[1], 'opc', ARGV[18]) end
if ARGV[19] == '1' then redis.call('HSET', KEYS[1], 'hc', 1) end
if ARGV[20] ~= '' then redis.call('HSET', KEYS[1], 'qr', ARGV[20], 'qt', ARGV[21], 'qpf', ARGV[22]) end
if ARGV[23] ~= '' then
  redis.call('HSET', KEYS[1], 'mny', ARGV[23])
  if cjson.decode(ARGV[23]).bud then redis.call('HSET', KEYS[1], 'bsp', 0, 'bgr', 0) end
end
-- Split into stock buckets (../buckets): this is bucket 0 and holds the whole stock until it is spread; `cfg`
-- is what another bucket takes with its first stock.
if tonumber(ARGV[16]) > 1 then
  local cfg = { st = 'ACTIVE', ['is'] = ARGV[6], ie = ARGV[7], vf = ARGV[8], vu = ARGV[9], vfs = ARGV[10], vus = ARGV[11], bk = ARGV[16] }
  if ARGV[14] ~= '' then cfg.elc = ARGV[14] end
  -- A bucket opened before any list reached it decides by the empty list, version 0, as bucket 0 does.
  if ARGV[15] == '1' then cfg.ala, cfg.alav = 'a', '0' end
  if ARGV[19] == '1' then cfg.hc = '1' end
  redis.call('HSET', KEYS[1], 'bk', ARGV[16], 'bsh', ARGV[17], 'bkn', 0, 'lo', 1, 'hi', ARGV[5], 'cfg', cjson.encode(cfg))
end
append(KEYS[2], 'CouponCreated', ARGV[2], ARGV[1], now, ARGV[4], ARGV[3])
return remember(KEYS[3], ARGV[12], ARGV[13], {'CREATED', tostring(now)})
