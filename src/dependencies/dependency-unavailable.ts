/** What the platform depends on: a request that needs one it cannot reach is answered 503. */
/** The stores every role needs, which health reports on. */
export type CoreDependency = 'redis' | 'mysql' | 'kafka';
/** Those, and the optional human-check verifier (coupons/human-check). */
export type Dependency = CoreDependency | 'human-check';

/** A dependency did not answer: the caller gets 503 and may retry. */
export class DependencyUnavailable extends Error {
  readonly dependency: Dependency;
  /** True only when it is known that the request changed nothing (it never reached the dependency). */
  readonly nothingChanged: boolean;

  constructor(dependency: Dependency, cause: unknown, nothingChanged = false) {
    super(`${dependency} is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.dependency = dependency;
    this.nothingChanged = nothingChanged;
    this.name = 'DependencyUnavailable';
  }
}

/**
 * A decision was sent and no answer came back in time: it may or may not have been made. The client is
 * told so (503 OUTCOME_UNKNOWN), never that nothing changed; a retry gets the decision's real outcome.
 */
export class OutcomeUnknown extends Error {
  constructor(cause: unknown) {
    super(`no answer to an admission in time: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'OutcomeUnknown';
  }
}

/**
 * The outbox holds as many pending events as it may (the relay cannot reach the log): the change was not
 * made, and admissions resume once the backlog drains.
 */
export class EventLogBacklog extends Error {
  constructor() {
    super('the event log is not taking events; the outbox is full');
    this.name = 'EventLogBacklog';
  }
}
