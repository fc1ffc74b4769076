import * as assert from 'uvu/assert';
import { newKafkaClusterId } from '../../src/stack/services.ts';
import { spec } from '../support/spec.ts';

const ids = spec('KRaft cluster ids for the local stack');

ids('given 20,000 drawn, none starts with "-" (the storage tool took one for an option and a fresh CI stack failed), and each is 22 base64url characters', () => {
  for (let i = 0; i < 20_000; i++) {
    const id = newKafkaClusterId();
    assert.ok(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id), id);
  }
});

ids.run();
