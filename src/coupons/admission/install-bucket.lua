-- KEYS: bucket, holders, used, allow-list a, allow-list b, outbox, staged holders, staged used, staged allow-list
-- ARGV: couponId, meta, events (JSON list of {t: type, e: eventId, d: data as JSON, v: version, g: gate}), then field, value, …
-- Puts one restored stock bucket of a lost bucketed coupon in place, only while Redis holds no bucket there (one
-- with settings was never lost, or another restore put it back first: this one's keys are dropped). A close that
-- reached the missing bucket first keeps it closed. `events` go to its outbox with it: the receipts of transfers
-- the log shows moved toward it but never taken in (taken in now; one whose move is still in an outbox follows it),
-- and the settings changes it takes now. A sold-out mark left on the lost bucket's key was made from a reading
-- this restore replaces, so it goes. The bucket's share of the allow-list goes into set `a`.
if redis.call('HEXISTS', KEYS[1], 'cfg') == 1 then
  redis.call('DEL', KEYS[7], KEYS[8], KEYS[9])
  return 0
end
local closed = redis.call('HGET', KEYS[1], 'st') == 'CLOSED'
local targets = { [7] = KEYS[2], [8] = KEYS[3], [9] = KEYS[4] }
for i = 7, 9 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('RENAME', KEYS[i], targets[i])
    redis.call('PERSIST', targets[i])
  else
    redis.call('DEL', targets[i])
  end
end
redis.call('DEL', KEYS[5])
-- A list's fields a carry left on the lost key are the restore's to set again.
redis.call('HDEL', KEYS[1], 'so', 'ala', 'alav', 'alr', 'ale')
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if closed then redis.call('HSET', KEYS[1], 'st', 'CLOSED') end
local now = now_ms()
for _, e in ipairs(cjson.decode(ARGV[3])) do append(KEYS[6], e.t, e.e, ARGV[1], now, e.d, ARGV[2], e.v, e.g) end
return 1
