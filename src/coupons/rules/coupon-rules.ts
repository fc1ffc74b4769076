/**
 * The coupon's rules, stated once: `decide(command, state, now)` says what a command may do and which events it
 * implies, `evolve(state, event)` folds what the log says happened, and the state module says where a coupon and
 * an issued coupon stand (in use, remaining, statuses). The Lua scripts in `../admission` are the atomic executor
 * of `decide` (a random test holds the two to the same answers and the same events); restore folds the log with
 * `evolve`; the auditor checks every recorded event was a decision `decide` allows; every view takes its
 * numbers and statuses from here.
 */
export * from './coupon-state.ts';
export * from './authority.ts';
export * from './eligibility.ts';
export * from './event-draft.ts';
export * from './decide-redemptions.ts';
export * from './decide-holds.ts';
export * from './money.ts';
export * from './decide-settings.ts';
export * from './decide.ts';
export * from './evolve.ts';
export * from './queue-rules.ts';
export * from './queue-line.ts';
