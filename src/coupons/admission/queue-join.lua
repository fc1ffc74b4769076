-- KEYS: coupon, queue meta, tickets, pre-queue, line, outbox, allow-list a, allow-list b
-- ARGV: couponId, userId, eventId, meta, human ('1': a passed human check), claims (JSON), outboxMaxEntries (last)
-- A person's place in the waiting room, once: a second join answers the first ticket (a holder holds one: only a
-- pass, granted to a ticket, admits). Replies the outcome, the person, their ticket ('<n>:<phase>') and '1' when
-- this call made it.
local coupon_id, user, event_id, meta, claims = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[6]
local c = redis.call('HMGET', KEYS[1], 'st', 'tot', 'iss', 'is', 'ie', 'qr', 'qpf', 'hc', 'elc', 'ala', 'opc')
if not c[1] then return {'COUPON_NOT_FOUND'} end
if not c[6] then return {'NOT_A_QUEUE'} end
if c[8] and ARGV[5] ~= '1' then return {'HUMAN_CHECK_FAILED'} end
local person = person_of(c[11], user, claims)
if not person then return {'IDENTITY_REQUIRED'} end
local mine = redis.call('HGET', KEYS[3], person)
if mine then return {'JOINED', person, mine, '0'} end
if c[1] == 'CLOSED' then return {'COUPON_CLOSED'} end
local now = now_ms()
if now >= tonumber(c[5]) then return {'ISSUE_ENDED'} end
if tonumber(c[3]) >= tonumber(c[2]) then return {'SOLD_OUT'} end
if now < tonumber(c[7]) then return {'QUEUE_NOT_OPEN'} end
-- Nobody waits for a coupon they could not be issued.
if (c[9] or c[10]) and not eligible(c[9], c[10], { a = KEYS[7], b = KEYS[8] }, user, claims) then return {'NOT_ELIGIBLE'} end
if backlogged(KEYS[6], ARGV[#ARGV]) then return {'EVENT_LOG_UNAVAILABLE'} end
local ticket = redis.call('HINCRBY', KEYS[2], 'n', 1)
-- Before the start (and its shuffle) a join waits in the pre-queue; after, it queues behind in arrival order.
local phase = 'line'
if now < tonumber(c[4]) and redis.call('HEXISTS', KEYS[2], 'sd') == 0 then
  phase = 'pre'
  redis.call('ZADD', KEYS[4], ticket, person)
else
  redis.call('ZADD', KEYS[5], AFTER_START + ticket, person)
end
local mark = ticket .. ':' .. phase
redis.call('HSET', KEYS[3], person, mark)
append(KEYS[6], 'CouponQueueJoined', event_id, coupon_id, now, cjson.encode({ person = person, userId = user, ticket = ticket, phase = phase }), meta)
return {'JOINED', person, mark, '1'}
