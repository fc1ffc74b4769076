import * as assert from 'uvu/assert';
import { issuedCouponId } from '../../src/ids/ids.ts';
import { parseCouponEvent } from '../../src/events/coupon-events.ts';
import { spec } from '../support/spec.ts';
import { checkHistory, type LoggedEvent } from './checker.ts';
import type { Actor, Answer, Kind, Operation, Params } from './recorder.ts';

/** Hand-written histories: times are milliseconds after T0; every event carries the id of the request that made it. */
const C = '01900000-0000-7000-8000-00000000c0c0';
const T0 = Date.parse('2026-12-01T08:00:00.000Z');
const iso = (at: number) => new Date(T0 + at).toISOString();
const admin: Actor = { userId: 'boss', role: 'admin' };
const service: Actor = { userId: 'orders', role: 'service' };
const user = (userId: string): Actor => ({ userId, role: 'user' });
const id = (sequence: number) => issuedCouponId(C, sequence);

let events = 0;
function event(type: string, requestId: string, at: number, data: Record<string, unknown>): LoggedEvent {
  const eventId = `01900000-0000-7000-8000-${String(++events).padStart(12, '0')}`;
  const raw = { eventId, type, version: type === 'CouponUsed' ? 3 : 1, couponId: C, occurredAt: iso(at), data, meta: { requestId } };
  return { partition: 0, offset: String(events), event: parseCouponEvent(raw) };
}

function op(opId: string, kind: Kind, actor: Actor, interval: [number, number], answer: Answer, params: Params = {}, key?: string): Operation {
  return { id: opId, client: opId.split('.')[0]!, kind, couponId: C, actor, params, ...(key ? { key } : {}), invokedAt: T0 + interval[0], completedAt: T0 + interval[1], answer };
}
const ok = (status: number, body: Record<string, unknown> = {}, replayed = false): Answer => ({ type: 'answered', status, body, replayed });
const refused = (status: number, code: string, body: Record<string, unknown> = {}): Answer => ({ type: 'answered', status, code, body: { code, ...body }, replayed: false });

/** A coupon of `quantity`, open for issuing and valid around T0, created by request a.1, and ann issued the first at 20 ms. */
function opened(quantity: number): { ops: Operation[]; log: LoggedEvent[] } {
  const definition = {
    name: 'History', totalQuantity: quantity, discount: { type: 'PERCENT', value: 10 }, issueStartAt: iso(-60_000), issueEndAt: iso(3_600_000),
    validFrom: iso(-60_000), validUntil: iso(7_200_000),
  };
  return {
    ops: [op('a.1', 'create', admin, [0, 5], ok(201, { id: C })), op('ann.1', 'issue', user('ann'), [10, 30], ok(201, { issuedCouponId: id(1) }))],
    log: [event('CouponCreated', 'a.1', 2, definition), event('CouponIssued', 'ann.1', 20, { issuedCouponId: id(1), userId: 'ann', validFrom: iso(-60_000), validUntil: iso(7_200_000) })],
  };
}
const issued = (requestId: string, at: number, sequence: number, userId: string) =>
  event('CouponIssued', requestId, at, { issuedCouponId: id(sequence), userId, validFrom: iso(-60_000), validUntil: iso(7_200_000) });
const used = (requestId: string, at: number, generation: number, useSequence: number) =>
  event('CouponUsed', requestId, at, { issuedCouponId: id(1), userId: 'ann', useSequence, orderId: 'o-1', useGeneration: generation });

const checker = spec('the history checker, given requests with their answers and the log');

checker('a correct concurrent history with an unknown outcome, a replay, a copy and answers that changed nothing has no anomaly', () => {
  const { ops, log } = opened(2);
  ops.push(
    op('bob.1', 'issue', user('bob'), [12, 40], { type: 'unknown', why: 'client timeout' }, {}, 'k-bob'),
    op('cy.1', 'issue', user('cy'), [15, 35], refused(409, 'SOLD_OUT')),
    op('bob.2', 'issue', user('bob'), [50, 60], ok(201, { issuedCouponId: id(2) }, true), {}, 'k-bob'),
    op('a.2', 'stock', admin, [70, 80], ok(200, { totalQuantity: 3 }), { add: 1 }),
    op('cy.2', 'issue', user('cy'), [72, 90], ok(201, { issuedCouponId: id(3) })),
    op('dee.1', 'issue', user('dee'), [73, 77], refused(409, 'SOLD_OUT')),
    op('ann.2', 'use', user('ann'), [100, 110], ok(200, { status: 'USED', usedAt: iso(105) }), { sequence: 1, orderId: 'o-1' }),
    op('orders.1', 'use', service, [102, 120], refused(409, 'ALREADY_USED', { usedAt: iso(105) }), { sequence: 1, orderId: 'o-2', onBehalfOf: 'ann' }),
    op('ann.3', 'cancel', user('ann'), [121, 125], refused(403, 'FORBIDDEN'), { sequence: 1, orderId: 'o-1' }),
    op('orders.2', 'cancel', service, [130, 140], ok(200, { status: 'ISSUED' }), { sequence: 1, orderId: 'o-1' }),
  );
  log.push(
    issued('bob.1', 25, 2, 'bob'),
    event('CouponStockAdded', 'a.2', 75, { add: 1, totalQuantity: 3 }),
    issued('cy.2', 78, 3, 'cy'),
    used('ann.2', 105, 1, 1),
    event('CouponUseCancelled', 'orders.2', 135, { issuedCouponId: id(1), userId: 'ann', orderId: 'o-1', useGeneration: 1, cancelSequence: 1 }),
    log[1]!,
  );
  const result = checkHistory(ops, log);
  assert.equal(result.anomalies.map((a) => a.what), []);
  assert.equal([result.events, result.copies, result.resolved], [7, 1, 1]);
});

checker('SOLD_OUT answered while stock was left is an anomaly, with what the rules said at each admissible point', () => {
  const { ops, log } = opened(2);
  ops.push(op('cy.1', 'issue', user('cy'), [30, 40], refused(409, 'SOLD_OUT')));
  const [anomaly, ...rest] = checkHistory(ops, log).anomalies;
  assert.equal(rest, []);
  assert.is(anomaly?.op?.id, 'cy.1');
  assert.match(anomaly!.what, /409 SOLD_OUT/);
  assert.equal(anomaly!.points, [`after #2 CouponIssued (${iso(20)}): the rules answer 201 {"issuedCouponId":"${id(2)}"}, recording CouponIssued`]);
});

checker('a second USED of one coupon is an event the rules would not make', () => {
  const { ops, log } = opened(2);
  ops.push(
    op('ann.2', 'use', user('ann'), [50, 60], ok(200, { status: 'USED', usedAt: iso(55) }), { sequence: 1, orderId: 'o-1' }),
    op('ann.3', 'use', user('ann'), [70, 80], ok(200, { status: 'USED', usedAt: iso(75) }), { sequence: 1, orderId: 'o-1' }),
  );
  log.push(used('ann.2', 55, 1, 1), used('ann.3', 75, 2, 2));
  const anomalies = checkHistory(ops, log).anomalies;
  assert.equal(anomalies.map((a) => a.op?.id), ['ann.3', 'ann.3']);
  assert.match(anomalies[0]!.what, /the rules answer 409 ALREADY_USED .* here and change nothing/);
});

checker('a 201 with no event in the log is an anomaly', () => {
  const { ops, log } = opened(2);
  ops.push(op('bob.1', 'issue', user('bob'), [30, 40], ok(201, { issuedCouponId: id(2) })));
  const anomalies = checkHistory(ops, log).anomalies;
  assert.equal(anomalies.map((a) => [a.op?.id, a.points]), [['bob.1', [`after #2 CouponIssued (${iso(20)}): the rules answer 201 {"issuedCouponId":"${id(2)}"}, recording CouponIssued`]]]);
  assert.match(anomalies[0]!.what, /no event of its request is in the log/);
});

checker('an event nobody asked for, and an unknown outcome that took effect twice, are anomalies', () => {
  const { ops, log } = opened(3);
  ops.push(op('bob.1', 'issue', user('bob'), [30, 40], { type: 'unknown', why: '503 OUTCOME_UNKNOWN' }));
  log.push(issued('ghost.1', 35, 2, 'cy'), issued('bob.1', 36, 3, 'bob'), issued('bob.1', 37, 4, 'bob'));
  const anomalies = checkHistory(ops, log).anomalies.map((a) => a.what);
  assert.ok(anomalies.some((what) => /an event nobody asked for/.test(what)), anomalies.join('\n'));
  assert.ok(anomalies.some((what) => /recorded 2 CouponIssued events, at most 1 expected/.test(what)), anomalies.join('\n'));
});

checker('a create whose first try went unanswered is the coupon its event made, and a retry under its key is answered with it', () => {
  const { ops, log } = opened(2);
  const unanswered = { ...ops[0]!, id: 'a.0', couponId: '', key: 'k-create', answer: { type: 'unknown', why: 'client timeout' } as Answer };
  ops[0] = { ...ops[0]!, key: 'k-create', invokedAt: T0 + 1, answer: ok(201, { id: C }, true) };
  log[0] = { ...log[0]!, event: { ...log[0]!.event, meta: { requestId: 'a.0' } } };
  assert.equal(checkHistory([unanswered, ...ops], log).anomalies.map((a) => a.what), []);
});

checker.run();
