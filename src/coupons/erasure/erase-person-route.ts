import { z } from 'zod';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Route } from '../../http/route.ts';
import type { AdmissionStore } from '../admission/admission-store.ts';
import type { PersonalData } from '../../privacy/personal-data.ts';

export const erasedSchema = z.object({ userId: z.string(), erasedAs: z.string(), coupons: z.number().int() });

/**
 * Erasure of a person, by an admin only (a user or a service is 403: nobody erases someone else, and a person's
 * own request goes through support). Their key goes first, so every copy of the log and every backup forgets
 * them at once; then their holdings in Redis and the read models go on under their placeholder (counts, budgets
 * and the audit stay whole: a rebuild from the log gives the same rows), and their inbox and account are deleted.
 * Asked again, it does again what is left: events of theirs still on the way when it ran are caught by a second call.
 */
export const erasePersonRoute = (deps: { db: Db; admission: AdmissionStore; personal: PersonalData }): Route => ({
  method: 'delete', path: '/admin/people/:userId', auth: 'admin', params: { userId: 'The person\'s user id (the tokens\' subject)' },
  summary: 'Erase a person: their key deleted (the log forgets them), their holdings kept under a placeholder, their notices and account deleted', tag: 'admin',
  answer: { status: 200, schema: erasedSchema }, problems: [],
  handler: async (ctx) => {
    const { userId } = ctx.params as { userId: string };
    const erasedAs = await deps.personal.erase(userId);
    const held = await deps.db.selectFrom('issued_coupon').select('coupon_id').distinct().where('user_id', '=', userId).execute();
    for (const { coupon_id } of held) await deps.admission.erase(coupon_id, userId, erasedAs);
    await deps.db.transaction().execute(async (tx) => {
      await sql`UPDATE issued_coupon SET user_id = ${erasedAs} WHERE user_id = ${userId}`.execute(tx);
      await tx.deleteFrom('notification_delivery').where('notification_id', 'in', (q) => q.selectFrom('notification').select('id').where('user_id', '=', userId)).execute();
      await tx.deleteFrom('notification').where('user_id', '=', userId).execute();
      await tx.deleteFrom('user_account').where('id', '=', userId).execute();
    });
    ctx.body = { userId, erasedAs, coupons: held.length };
  },
});
