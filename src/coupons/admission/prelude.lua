-- Shared by every admission script. One clock for every API copy: the Redis server's.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The outbox entry is the event, written in the same atomic step as the decision it records.
-- `version`: the event's, when past its first (the relay reads an entry without one, as older ones are, as version 1).
-- `gate`: entries of other outboxes the relay must have sent before this one ('' for none; see outbox.ts's entryGate).
local function append(outbox, event_type, event_id, coupon_id, at, data, meta, version, gate)
  if gate and gate ~= '' then
    return redis.call('XADD', outbox, '*', 't', event_type, 'e', event_id, 'c', coupon_id, 'at', at, 'd', data, 'm', meta, 'v', version or '1', 'g', gate)
  end
  return redis.call('XADD', outbox, '*', 't', event_type, 'e', event_id, 'c', coupon_id, 'at', at, 'd', data, 'm', meta, 'v', version or '1')
end

-- What became of an issued coupon, as the used hash keeps it under its sequence: JSON {s, at, g, u, o} with
-- s 'U' in use, 'C' its last use cancelled, 'R' revoked; g the use generation, u the holder, o the order
-- ('' for none). A bare number is a use recorded before cancellations existed: in use, the first
-- generation, with neither holder nor order kept.
local function redemption(v)
  if not v then return nil end
  if string.sub(v, 1, 1) == '{' then return cjson.decode(v) end
  return { s = 'U', at = tonumber(v), g = 1, o = '' }
end

-- The caller qualifies for the coupon `c` (its HMGET: c.elc the required claims, c.ala the allow-list in force,
-- 'a' or 'b', naming KEYS `lists.a`/`lists.b`): every required claim carries an allowed value, and they are on
-- the list. Answers the claims that qualified them (nil when none were required), or false.
local function eligible(required, ala, lists, user, claims_json)
  local qualifying = nil
  if required then
    local claims = cjson.decode(claims_json)
    qualifying = {}
    for name, allowed in pairs(cjson.decode(required)) do
      local held = claims[name]
      local values = held
      if type(held) == 'string' then values = { held } end
      if type(values) ~= 'table' then return false end
      local ok = false
      for _, v in ipairs(values) do
        for _, a in ipairs(allowed) do
          if v == a then ok = true end
        end
      end
      if not ok then return false end
      qualifying[name] = held
    end
  end
  if ala and redis.call('SISMEMBER', lists[ala], user) == 0 then return false end
  return qualifying or true
end

-- The caller's issuance for the read scripts: its sequence (false when none), and what became of it (s and at of
-- `redemption`, '' while unused).
local function issuance(holders, used, user)
  if user == '' then return false, '', '' end
  local seq = redis.call('HGET', holders, user)
  if not seq then return false, '', '' end
  local r = redemption(redis.call('HGET', used, seq))
  if r then return seq, r.s, tostring(r.at) end
  return seq, '', ''
end

local function order_or_null(order)
  if order == '' then return cjson.null end
  return order
end

-- Past this many pending events (the relay cannot reach the log) a change is refused rather than growing
-- Redis until it runs out of memory; answers that change nothing are still given.
local function backlogged(outbox, max)
  return redis.call('XLEN', outbox) >= tonumber(max)
end

-- A decision that changed state is remembered under its request id, in the same atomic step, so a
-- call retried after a timeout (or a client's retry with its Idempotency-Key) is answered with what was
-- decided instead of being decided again. The fingerprint tells a reused key from a retried request.
local function recall(memo, fingerprint)
  local stored = redis.call('GET', memo)
  if not stored then return nil end
  local m = cjson.decode(stored)
  if m.f ~= fingerprint then return {'IDEMPOTENCY_KEY_REUSED'} end
  local reply = {'REPLAYED'}
  for _, v in ipairs(m.r) do reply[#reply + 1] = v end
  return reply
end

-- A user's attempts at one decision on one coupon, counted in fixed windows in the same atomic step as the
-- decision: exact whatever the number of API processes. Answers the milliseconds left when over the limit.
local function over_limit(key, limit, window_ms)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, window_ms) end
  if n > tonumber(limit) then return redis.call('PTTL', key) end
  return nil
end

-- A dry run (the caller's last argument before the outbox limit is '1') changes nothing and counts no attempt: it
-- answers what the real call would answer now, so it is over the limit only when the real call's attempt would be.
local function dry_run()
  return ARGV[#ARGV - 1] == '1'
end

local function over_limit_unless_dry(key, limit, window_ms)
  if not dry_run() then return over_limit(key, limit, window_ms) end
  if tonumber(redis.call('GET', key) or '0') + 1 > tonumber(limit) then return redis.call('PTTL', key) end
  return nil
end

-- The coupon's next setting revision (window, required claims, allow-list share one counter): consumers apply a
-- setting's change only over an older revision, so a late copy of an earlier change is told apart.
local function next_revision(coupon)
  return redis.call('HINCRBY', coupon, 'rev', 1)
end

local function remember(memo, fingerprint, ttl_ms, reply)
  redis.call('SET', memo, cjson.encode({ f = fingerprint, r = reply }), 'PX', ttl_ms)
  return reply
end

-- A stock bucket's unissued sequences: the range lo..hi, then the ranges in `more` ('first-last,…'), lowest first,
-- as the caller read them (HMGET: nil when absent). Whether none is left:
local function holds_none(lo, hi, more)
  return tonumber(lo or '1') > tonumber(hi or '0') and (more or '') == ''
end

-- Answers the next one, taken, or nil when the bucket is dry.
local function take_sequence(bucket, lo, hi, more)
  if holds_none(lo, hi, more) then return nil end
  lo, hi = tonumber(lo or '1'), tonumber(hi or '0')
  if lo > hi then
    local first, last, rest = string.match(more, '^(%d+)-(%d+),?(.*)$')
    lo, hi = tonumber(first), tonumber(last)
    redis.call('HSET', bucket, 'hi', hi, 'more', rest)
  end
  redis.call('HSET', bucket, 'lo', lo + 1)
  return lo
end

-- A coupon's window and required claims as a stock bucket holds them: `s` is settings as bucket 0 keeps them in
-- `cfg` (is, ie, isa, iea ISO, wrv: the window and its revision; elc, crv: the claims, none when absent, and
-- theirs). Each is taken only over an older revision (none yet: any), so changes reaching a bucket out of order,
-- or a bucket opened from settings older than a change that already reached it, keep the newest. Answers which
-- of the two changed.
-- The fields take_settings keeps by revision, not set once at a bucket's opening.
local SETTING_FIELDS = { ['is'] = true, ie = true, isa = true, iea = true, wrv = true, elc = true, crv = true }

local function take_settings(bucket, s)
  local have = redis.call('HMGET', bucket, 'wrv', 'crv')
  local window = s.ie ~= nil and (not have[1] or tonumber(s.wrv or '0') > tonumber(have[1]))
  local claims = not have[2] or tonumber(s.crv or '0') > tonumber(have[2])
  if window then redis.call('HSET', bucket, 'is', s['is'], 'ie', s.ie, 'isa', s.isa or '', 'iea', s.iea or '', 'wrv', s.wrv or 0) end
  if claims then
    if s.elc then redis.call('HSET', bucket, 'elc', s.elc) else redis.call('HDEL', bucket, 'elc') end
    redis.call('HSET', bucket, 'crv', s.crv or 0)
  end
  return window, claims
end

-- Bucket `bucket`'s window and claims as an event states them ({issueStartAt, issueEndAt, revision} and
-- {requiredClaims, revision}), each only once a change reached it (revision above 0): before that it holds the
-- coupon's as created.
local function bucket_settings(bucket)
  local h = redis.call('HMGET', bucket, 'isa', 'iea', 'wrv', 'elc', 'crv')
  local window, claims
  if tonumber(h[3] or '0') > 0 then window = { issueStartAt = h[1], issueEndAt = h[2], revision = tonumber(h[3]) } end
  if tonumber(h[5] or '0') > 0 then
    local required = cjson.null
    if h[4] then required = cjson.decode(h[4]) end
    claims = { requiredClaims = required, revision = tonumber(h[5]) }
  end
  return window, claims
end

-- Takes in sequences first..last moved from another bucket, once per transfer id. A bucket holding nothing yet is
-- made only by an opening transfer (bucket 0 opens each other bucket once, and records that it did): one that is
-- gone without having been opened by this transfer was lost with its node, and is not made again empty (its
-- holders would be issued a second coupon). `settings`: the giver's `cfg`, kept as the new bucket's; a setting
-- it holds already (a close that reached it first) is kept. `gate`: the CouponStockMoved entry it must follow.
-- Answers 'RECEIVED', 'RECEIVED_BEFORE' or 'BUCKET_LOST'.
local function receive_stock(bucket, outbox, coupon_id, transfer_id, from, to, first, last, settings, opens, event_id, meta, gate, now)
  if redis.call('HEXISTS', bucket, 'x:' .. transfer_id) == 1 then return 'RECEIVED_BEFORE' end
  if redis.call('HEXISTS', bucket, 'cfg') == 0 then
    if opens ~= '1' then return 'BUCKET_LOST' end
    local s = cjson.decode(settings)
    for field, value in pairs(s) do
      if not SETTING_FIELDS[field] then redis.call('HSETNX', bucket, field, value) end
    end
    take_settings(bucket, s)
    redis.call('HSET', bucket, 'cfg', settings, 'bkn', to)
  end
  redis.call('HSET', bucket, 'x:' .. transfer_id, 1)
  if tonumber(first) <= tonumber(last) then
    local more = redis.call('HGET', bucket, 'more')
    local range = first .. '-' .. last
    if more and more ~= '' then range = more .. ',' .. range end
    redis.call('HSET', bucket, 'more', range)
  end
  local data = { transferId = transfer_id, fromBucket = tonumber(from), toBucket = tonumber(to), first = tonumber(first), last = tonumber(last) }
  if opens == '1' then
    data.opens = true
    -- The settings it opened with, when a change had reached them: its issues are judged by these.
    data.window, data.eligibility = bucket_settings(bucket)
  end
  append(outbox, 'CouponStockReceived', event_id, coupon_id, now, cjson.encode(data), meta, '1', gate)
  return 'RECEIVED'
end

-- The waiting room (queue-*.lua). Those who join after the start stand behind every place a shuffle gives (2^52).
local AFTER_START = 4503599627370496

-- Who a waiting-room caller is: the value of the coupon's person claim (`opc`) in their token, or their account
-- when it has none; nil when the coupon names a claim their token lacks.
local function person_of(opc, user, claims_json)
  if not opc then return user end
  local person = cjson.decode(claims_json)[opc]
  if type(person) ~= 'string' or person == '' then return nil end
  return person
end

-- Where a waiting room stands, from its coupon's HMGET (st, tot, iss, is, ie) and whether its shuffle is done, in
-- the order of settledAnswer (../rules/coupon-state.ts) and roomState (../rules/queue-rules.ts).
local function room_state(c, shuffled, now)
  if c[1] == 'CLOSED' then return 'CLOSED' end
  if now < tonumber(c[4]) then return 'NOT_STARTED' end
  if now >= tonumber(c[5]) then return 'ENDED' end
  if tonumber(c[3]) >= tonumber(c[2]) then return 'SOLD_OUT' end
  if not shuffled then return 'SHUFFLING' end
  return 'OPEN'
end

-- The checks a use and a hold share, in this order (unusable in ../rules/usable.ts): the asker's own coupon, not in
-- use, not revoked, inside its validity. Answers the refusal, or nil with the coupon hash's `vf`, `vu` and the
-- `fields` asked after them, the redemption and the time.
local function usable(coupon, holders, used, seq, user, ...)
  local c = redis.call('HMGET', coupon, 'vf', 'vu', ...)
  if not c[1] then return {'ISSUED_COUPON_NOT_FOUND'} end
  if redis.call('HGET', holders, user) ~= seq then return {'ISSUED_COUPON_NOT_FOUND'} end
  local r = redemption(redis.call('HGET', used, seq))
  if r and r.s == 'U' then return {'ALREADY_USED', tostring(r.at)} end
  if r and r.s == 'R' then return {'COUPON_REVOKED'} end
  local now = now_ms()
  if now < tonumber(c[1]) then return {'COUPON_NOT_YET_VALID'} end
  if now >= tonumber(c[2]) then return {'COUPON_EXPIRED'} end
  return nil, c, r, now
end

-- An issued coupon's latest hold at checkout, as the holds hash keeps it under its sequence: JSON {o, u, x, n, e}:
-- the order, the holder, until (epoch ms), its number (the coupon's nth hold), and how it ended: '' not yet (in
-- force, or lapsed and not ended yet), 'R' released, 'X' ended as lapsed, 'U' confirmed by its order's use, 'V' its
-- coupon revoked (written by a restore; live, revoke.lua leaves it, and every script asks for a revocation first).
local function hold_of(v)
  if not v then return nil end
  return cjson.decode(v)
end

local function in_force(h, now)
  return h ~= nil and h.e == '' and tonumber(h.x) > now
end

local function end_hold(holds, outbox, coupon_id, seq, h, reason, now, event_id, meta)
  h.e = reason == 'RELEASED' and 'R' or 'X'
  redis.call('HSET', holds, seq, cjson.encode(h))
  local data = { issuedCouponId = coupon_id .. '.' .. string.format('%08d', tonumber(seq)), userId = h.u, orderId = h.o, holdSequence = h.n, reason = reason }
  append(outbox, 'CouponHoldEnded', event_id, coupon_id, now, cjson.encode(data), meta)
end

-- A hold that lapsed but was not ended is ended by the first decision that meets it, in the same step (lapseOf in
-- ../rules/decide-holds.ts), and otherwise by the expiry timer: one event, whoever sees it first.
local function end_lapsed(holds, outbox, coupon_id, seq, h, now, event_id, meta)
  if h and h.e == '' and tonumber(h.x) <= now then end_hold(holds, outbox, coupon_id, seq, h, 'EXPIRED', now, event_id, meta) end
end
