import * as assert from 'uvu/assert';
import { keySlot } from '../../src/redis/key-slot.ts';
import { spec } from '../support/spec.ts';

const slots = spec('key slots');

slots('keys hash to the slots Redis Cluster gives them (values from the Cluster specification and CLUSTER KEYSLOT)', () => {
  assert.is(keySlot('123456789'), 0x31c3);
  assert.is(keySlot('foo'), 12182);
  assert.is(keySlot('bar'), 5061);
  assert.is(keySlot('{user1000}.following'), keySlot('user1000'));
  assert.is(keySlot('{cp:3}:c:a'), keySlot('cp:3'));
});

slots.run();
