/**
 * Preloaded (`node --import`) into a projector process by a test: after the consumer's third batch, a
 * promise inside its loop rejects where nobody handles it, the kind of bug that otherwise leaves a role
 * dead in a process that looks alive.
 */
import { KafkaClient, type ConsumeOptions } from '../../../src/kafka/kafka-client.ts';

const consume = KafkaClient.prototype.consume;
KafkaClient.prototype.consume = function (this: KafkaClient, options: ConsumeOptions) {
  let batches = 0;
  return consume.call(this, {
    ...options,
    eachBatch: async (batch, seek) => {
      await options.eachBatch(batch, seek);
      if (++batches === 3) void Promise.reject(new Error('injected fault: a rejection nobody handles'));
    },
  });
};
