/**
 * Worker loops (relay, projector, notifier) say each time they move. A loop that has not moved for
 * `stallMs` is stuck (waiting on a lock, say, or wedged), and its process answers /readyz with 503 so a
 * supervisor can see it and restart it. A loop that fails and retries is moving; its dependencies' health
 * is /readyz's other half.
 */
export class Liveness {
  private readonly movedAt = new Map<string, number>();

  readonly stallMs: number;

  constructor(stallMs: number) {
    this.stallMs = stallMs;
  }

  moved(loop: string): void {
    this.movedAt.set(loop, Date.now());
  }

  /** A loop that stopped on purpose is no longer watched. */
  stopped(loop: string): void {
    this.movedAt.delete(loop);
  }

  stuck(now = Date.now()): { loop: string; stillForMs: number }[] {
    return [...this.movedAt].filter(([, at]) => now - at > this.stallMs).map(([loop, at]) => ({ loop, stillForMs: now - at }));
  }
}
