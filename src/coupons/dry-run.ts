import type { Context } from 'koa';
import { z } from 'zod';
import type { AdmissionRequest } from '../idempotency/admission-request.ts';
import { validate } from '../http/validate.ts';

/**
 * `?dryRun=true` on issue, hold and use: the script answers what the real call would answer now (the same status,
 * the same problem, the discount it would grant) and changes nothing: no Redis write, no event, no attempt counted
 * (it is over the attempt limit only when the real call would be). A human check is not spent: only a verdict this
 * caller's token already has counts. Who may ask is who may make the call, and a non-holder hears what the real call
 * would tell them, nothing more.
 */
export const dryRunQuery = z.strictObject({ dryRun: z.enum(['true', 'false']).optional() });

/** Whether the request asks for a dry run (400 for a bad value). A request with no query string, as issues are, parses nothing. */
export const isDryRun = (ctx: Context): boolean => ctx.querystring !== '' && validate(dryRunQuery, ctx.query, 'query').dryRun === 'true';

export const asDryRun = (request: AdmissionRequest, dry: boolean): AdmissionRequest => (dry ? { ...request, dryRun: true } : request);
