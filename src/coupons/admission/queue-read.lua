-- KEYS: coupon, queue meta, tickets, line, passes, holders, persons
-- ARGV: userId ('' for the room alone), claims (JSON)
-- Where the room stands: its state, places granted, the line's length, Redis's clock, the start, admitPerSecond;
-- for a caller, then: their person, ticket, place (0-based) in the line, pass expiry, and '1' if they hold one.
local c = redis.call('HMGET', KEYS[1], 'st', 'tot', 'iss', 'is', 'ie', 'qr', 'opc')
if not c[1] then return {'COUPON_NOT_FOUND'} end
if not c[6] then return {'NOT_A_QUEUE'} end
local q = redis.call('HMGET', KEYS[2], 'hd', 'sdone')
local now = now_ms()
local room = {room_state(c, q[2], now), q[1] or '0', tostring(redis.call('ZCARD', KEYS[4])), tostring(now), c[4], c[6]}
if ARGV[1] == '' then return room end
local person = person_of(c[7], ARGV[1], ARGV[2])
if not person then return {'IDENTITY_REQUIRED'} end
-- No place while the shuffle is still placing the pre-queue: one read then could be overtaken by those placed after.
local place = q[2] and redis.call('ZRANK', KEYS[4], person)
local holds = redis.call('HEXISTS', KEYS[6], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[7], person) == 1
for _, v in ipairs({person, redis.call('HGET', KEYS[3], person) or '', place and tostring(place) or '', redis.call('ZSCORE', KEYS[5], person) or '', holds and '1' or ''}) do
  table.insert(room, v)
end
return room
