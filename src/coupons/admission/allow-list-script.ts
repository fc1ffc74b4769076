import { uuidv7 } from '../../ids/ids.ts';
import type { EventMeta } from './admission-results.ts';
import type { ScriptRunner } from './script-runner.ts';

/**
 * allow-list.lua, one step of an upload (`uploadId`): begin (answers BEGUN and the upload's version), add a chunk
 * of ids to it, commit it (REPLACED and its size), or remove the list in force. A later upload supersedes one
 * still running (UPLOAD_SUPERSEDED).
 */
export type AllowListStep = { step: 'begin'; uploadId: string } | { step: 'add'; uploadId: string; version: string; userIds: string[] }
  | { step: 'commit'; uploadId: string; version: string } | { step: 'remove' };

export async function allowListScript(runner: ScriptRunner, couponId: string, change: AllowListStep, meta: EventMeta): Promise<string[]> {
  const k = runner.keys(couponId);
  const args = change.step === 'begin' ? ['', change.uploadId]
    : change.step === 'add' ? [uuidv7(), change.uploadId, change.version, ...change.userIds]
    : change.step === 'commit' ? [uuidv7(), change.uploadId, change.version]
    : [uuidv7()];
  const [eventId, ...rest] = args as [string, ...string[]];
  const { reply } = await runner.decide('couponAllowList', [k.coupon, ...k.allowLists, k.outbox, change.step, couponId, eventId, JSON.stringify(meta), ...rest]);
  return reply;
}

/** allow-list-member.lua: whether the user is on the coupon's allow-list in force (true when it has none). */
export async function onAllowList(runner: ScriptRunner, couponId: string, userId: string): Promise<boolean> {
  const k = runner.keys(couponId);
  const member: unknown = await runner.read('couponAllowListMember', [k.coupon, ...k.allowLists, userId]);
  return member === 1;
}
