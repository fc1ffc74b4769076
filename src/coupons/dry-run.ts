import { z } from 'zod';
import type { AdmissionRequest } from '../idempotency/admission-request.ts';

/**
 * `?dryRun=true` on issue, hold and use: the script answers what the real call would answer now (the same status,
 * the same problem, the discount it would grant) and changes nothing: no Redis write, no event, no attempt counted
 * (it is over the attempt limit only when the real call would be). A human check is not spent: only a verdict this
 * caller's token already has counts. Who may ask is who may make the call, and a non-holder hears what the real call
 * would tell them, nothing more.
 */
export const dryRunQuery = z.strictObject({ dryRun: z.enum(['true', 'false']).optional() });

export const asDryRun = (request: AdmissionRequest, query: z.infer<typeof dryRunQuery>): AdmissionRequest =>
  query.dryRun === 'true' ? { ...request, dryRun: true } : request;
