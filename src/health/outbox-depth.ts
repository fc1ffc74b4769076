export { outboxDepth, type OutboxDepth } from '../outbox/outbox.ts';
