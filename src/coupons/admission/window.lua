-- KEYS: coupon, outbox, memo
-- ARGV: couponId, eventId, meta, issueStart ('' to keep), issueEnd ('' to keep) (ms), issueStartAt, issueEndAt (ISO, '' to keep),
--       fingerprint, memoTtlMs, outboxMaxEntries (last)
-- The same rules, in the same order, as decideChangeWindow in ../rules/coupon-rules.ts. Atomic with every
-- admission: an issue decided before this call sees the old window, one after it the new one.
local replayed = recall(KEYS[3], ARGV[8])
if replayed then return replayed end
local c = redis.call('HMGET', KEYS[1], 'st', 'is', 'ie', 'vu', 'def', 'qpf')
if not c[1] then return {'COUPON_NOT_FOUND'} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED'} end
local now = now_ms()
local old_start = tonumber(c[2])
local start = ARGV[4] ~= '' and tonumber(ARGV[4]) or old_start
local finish = ARGV[5] ~= '' and tonumber(ARGV[5]) or tonumber(c[3])
if start ~= old_start and now >= old_start then return {'ISSUE_STARTED'} end
if start >= finish or finish > tonumber(c[4]) or finish <= now then return {'WINDOW_INVALID'} end
-- A waiting room's start stays at or after its pre-queue's opening: before it, nobody could join and be shuffled.
if start < tonumber(c[6] or 0) then return {'WINDOW_INVALID'} end
if backlogged(KEYS[2], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local def = cjson.decode(c[5])
if ARGV[6] ~= '' then def.issueStartAt = ARGV[6] end
if ARGV[7] ~= '' then def.issueEndAt = ARGV[7] end
redis.call('HSET', KEYS[1], 'is', start, 'ie', finish, 'def', cjson.encode(def))
local revision = next_revision(KEYS[1])
-- A coupon split into stock buckets keeps it for the other buckets too (stock-buckets.ts carries it to them).
local cfg = redis.call('HGET', KEYS[1], 'cfg')
if cfg then
  cfg = cjson.decode(cfg)
  cfg['is'], cfg.ie, cfg.isa, cfg.iea, cfg.wrv = tostring(start), tostring(finish), def.issueStartAt, def.issueEndAt, revision
  redis.call('HSET', KEYS[1], 'cfg', cjson.encode(cfg))
end
append(KEYS[2], 'CouponIssueWindowChanged', ARGV[2], ARGV[1], now,
  cjson.encode({ issueStartAt = def.issueStartAt, issueEndAt = def.issueEndAt, revision = revision }), ARGV[3], '2')
-- API processes answering from memory keep the window's end: they must ask Redis again (settled-coupons.ts).
redis.call('PUBLISH', 'coupon-reopened', ARGV[1])
return remember(KEYS[3], ARGV[8], ARGV[9], {'WINDOW_CHANGED', def.issueStartAt, def.issueEndAt})
