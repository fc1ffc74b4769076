/** Who asks: a user (for their own coupons), the order system (`service`), or an admin. */
export type Principal = 'user' | 'service' | 'admin';

/**
 * Who may do what beyond their own reads. A person (a user, or an admin) is issued coupons for themselves; the
 * order system is not a person and holds none. A holder uses their own coupon; the order system and an admin use
 * one on a holder's behalf (naming the holder) and cancel a use, because a cancellation gives the discount back
 * and only the order system knows the order was really cancelled.
 */
export const AUTHORITY = {
  issue: ['user', 'admin'],
  useOnBehalf: ['service', 'admin'],
  cancelUse: ['service', 'admin'],
  /** A release gives a checkout's hold back: the order system knows the checkout was abandoned; a holder would free it for another of their orders by a word. */
  releaseHold: ['service', 'admin'],
} as const satisfies Record<string, readonly Principal[]>;

export const may = (principal: Principal, act: keyof typeof AUTHORITY): boolean => (AUTHORITY[act] as readonly Principal[]).includes(principal);

/**
 * Before any rule but a replay, the scripts count the user's attempts at this decision on this coupon in
 * the current window (`attempts` includes this one); past the limit nothing is decided.
 */
export const overUserLimit = (attempts: number, limit: number): boolean => attempts > limit;
