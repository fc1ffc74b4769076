import type { DeliveryChannel } from '../../db/schema.ts';
import type { Notice } from '../notice.ts';

export interface Recipient {
  userId: string;
  email?: string;
}

/** A way to tell a user: it says whom it can reach, and throws when a send did not go through. */
export interface Channel {
  name: DeliveryChannel;
  reaches(recipient: Recipient): boolean;
  send(notice: Notice, recipient: Recipient): Promise<void>;
  close?(): Promise<void>;
}
