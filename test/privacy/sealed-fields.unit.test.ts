import * as assert from 'uvu/assert';
import { isErased, keyIdsIn, openFields, placeholderFor, sealFields } from '../../src/privacy/sealed-fields.ts';
import { spec } from '../support/spec.ts';

const fields = spec('the fields of an event that are a person\'s');
/** A stand-in seal that says whose key would seal what. */
const marked = (owner: string, value: string) => `[${owner}:${value}]`;

fields('given a use, then its holder and order are sealed under the holder\'s key, and the actor under their own; counts and times stay', () => {
  const event = {
    eventId: 'e', type: 'CouponUsed', couponId: 'c', occurredAt: 't', meta: { actor: 'orders', requestId: 'r' },
    data: { issuedCouponId: 'c.00000001', userId: 'ann', orderId: 'o-1', useSequence: 3, useGeneration: 1, discountMinor: 700 },
  };
  assert.equal(sealFields(event, marked), {
    ...event, meta: { actor: '[orders:orders]', requestId: 'r' },
    data: { ...event.data, userId: '[ann:ann]', orderId: '[ann:o-1]' },
  });
});
fields('given revocations, an allow-list chunk and passes, then each id is sealed under its own key; claims and the person under the holder\'s', () => {
  const sealed = (data: Record<string, unknown>) => sealFields({ type: 'X', data }, marked).data;
  assert.equal(sealed({ revoked: [{ issuedCouponId: 'c.1', userId: 'a' }], revokedCount: 1 }), { revoked: [{ issuedCouponId: 'c.1', userId: '[a:a]' }], revokedCount: 1 });
  assert.equal(sealed({ version: 1, userIds: ['a', 'b'] }), { version: 1, userIds: ['[a:a]', '[b:b]'] });
  assert.equal(sealed({ persons: ['p1'], from: 0 }), { persons: ['[p1:p1]'], from: 0 });
  assert.equal(sealed({ userId: 'u', person: 'ph', claims: { tier: 'gold', orgs: ['x'] }, orderId: null }),
    { userId: '[u:u]', person: '[u:ph]', claims: { tier: '[u:gold]', orgs: ['[u:x]'] }, orderId: null });
});
fields('opening replaces every sealed string wherever it is, and names the keys it needs', () => {
  const id = 'A'.repeat(22);
  const sealed = `pd1.${id}.abc`;
  const value = { data: { userId: sealed, list: [sealed, 'plain'], n: 1 }, meta: { actor: 'pd1.short.x' } };
  assert.equal([...keyIdsIn(value)], [id]);
  assert.equal(openFields(value, () => placeholderFor(id)), { data: { userId: `erased:${id}`, list: [`erased:${id}`, 'plain'], n: 1 }, meta: { actor: 'pd1.short.x' } });
  assert.equal([isErased(`erased:${id}`), isErased('ann'), isErased(null)], [true, false, false]);
});
fields.run();
