import * as assert from 'uvu/assert';
import { isErased, keyIdsIn, mapPersonalFields, placeholderFor } from '../../src/privacy/sealed-fields.ts';
import { spec } from '../support/spec.ts';

const fields = spec('the fields of an event that are a person\'s');
/** A stand-in seal that says whose key would seal what. */
const marked = (owner: string, value: string) => `[${owner}:${value}]`;

fields('given a use, then its holder is sealed under their key and the actor under theirs; the order, counts, amounts and times stay', () => {
  const event = {
    eventId: 'e', type: 'CouponUsed', couponId: 'c', occurredAt: 't', meta: { actor: 'orders', requestId: 'r' },
    data: { issuedCouponId: 'c.00000001', userId: 'ann', orderId: 'o-1', useSequence: 3, useGeneration: 1, discountMinor: 700 },
  };
  assert.equal(mapPersonalFields(event, marked), { ...event, meta: { actor: '[orders:orders]', requestId: 'r' }, data: { ...event.data, userId: '[ann:ann]' } });
});
fields('given revocations and passes, then each id is sealed under its own key, claims and the person under the holder\'s; an allow-list chunk is not sealed', () => {
  const sealed = (data: Record<string, unknown>) => mapPersonalFields({ type: 'X', data }, marked).data;
  assert.equal(sealed({ revoked: [{ issuedCouponId: 'c.1', userId: 'a' }], revokedCount: 1 }), { revoked: [{ issuedCouponId: 'c.1', userId: '[a:a]' }], revokedCount: 1 });
  assert.equal(sealed({ version: 1, userIds: ['a', 'b'] }), { version: 1, userIds: ['a', 'b'] });
  assert.equal(sealed({ persons: ['p1'], from: 0 }), { persons: ['[p1:p1]'], from: 0 });
  assert.equal(sealed({ userId: 'u', person: 'ph', claims: { tier: 'gold', orgs: ['x'] } }), { userId: '[u:u]', person: '[u:ph]', claims: { tier: '[u:gold]', orgs: ['[u:x]'] } });
});
fields('opening touches the personal fields only: a sealed-looking coupon name or request id stays as it is', () => {
  const id = 'A'.repeat(22);
  const sealed = `pd1.${id}.abc`;
  const event = { type: 'CouponIssued', data: { userId: sealed, name: sealed }, meta: { requestId: sealed, actor: sealed } };
  assert.equal([...keyIdsIn(event)], [id]);
  const opened = mapPersonalFields(event, (_, v) => (v === sealed ? placeholderFor(id) : v));
  assert.equal(opened, { type: 'CouponIssued', data: { userId: `erased:${id}`, name: sealed }, meta: { requestId: sealed, actor: `erased:${id}` } });
  assert.equal([isErased(`erased:${id}`), isErased('ann'), isErased(null)], [true, false, false]);
});
fields.run();
