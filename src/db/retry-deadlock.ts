import { setTimeout as sleep } from 'node:timers/promises';

/** InnoDB picked this statement as a deadlock victim (1213) or it waited too long for a lock (1205). */
const isLockConflict = (error: unknown) => [1213, 1205].includes((error as { errno?: number }).errno ?? 0);

/**
 * Runs a statement that concurrent writers may lock against in another order (inserts racing on a unique
 * key take gap locks): a deadlock rolls back only the victim, so trying it again is the documented answer.
 */
export async function retryOnDeadlock<T>(statement: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (!isLockConflict(error) || attempt >= attempts) throw error;
      await sleep(10 * attempt + Math.random() * 20);
    }
  }
}
