import { randomBytesPooled } from '../ids/ids.ts';

/**
 * One request for a decision, as the admission scripts remember it. A decision that changes state is
 * stored under `requestId` in the same atomic step, so a call retried after a timeout is answered with what
 * was decided. With the client's Idempotency-Key the id comes from the key (and the fingerprint from the
 * request), so the client's own retries get the first answer too; without one, only the API's retries do.
 */
export interface AdmissionRequest {
  requestId: string;
  /** What the request said (method, path, body); the same key with another fingerprint is refused. */
  fingerprint: string;
  keyed: boolean;
  /** A dry run (`?dryRun=true`): the scripts answer what the decision would be now, and change nothing. */
  dryRun?: boolean;
}

/** How long a decision is remembered: a day for an Idempotency-Key, minutes for the API's own retries. */
export const memoTtlMs = (request: AdmissionRequest) => (request.keyed ? 24 * 3_600_000 : 10 * 60_000);

/** A request of the API's own: no client key, so only the API's retries share its id. */
export const internalRequest = (): AdmissionRequest => ({ requestId: randomBytesPooled(12).toString('base64url'), fingerprint: '', keyed: false });
