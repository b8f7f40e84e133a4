/**
 * The hub's per-connection token bucket (`welcome.limits.rate`), mirrored on the client so the
 * outbox never finds the limit by trial: an outbox of 1,000 drains after a reconnect without one
 * `rate_limited` answer (and without the 4429 close a burst of them earns). It keeps 10 % of the
 * burst and of the refill in reserve for network jitter (frames sent evenly can arrive bunched).
 */

/** Share of the advertised limit the client uses. */
const SHARE = 0.9;

export class Pacer {
  private tokens = 0;
  private at = 0;
  private burst = 0;
  /** Refill per ms; 0 while no limit is known (then only `pause` paces). */
  private perMs = 0;
  private pausedUntil = 0;

  constructor(private readonly now: () => number) {}

  /** A new link: the hub's bucket starts full. */
  reset(rate: { burst: number; perSecond: number } | undefined): void {
    this.perMs = rate === undefined ? 0 : (rate.perSecond * SHARE) / 1000;
    this.burst = rate === undefined ? 0 : Math.max(1, Math.floor(rate.burst * SHARE));
    this.tokens = this.burst;
    this.at = this.now();
    this.pausedUntil = 0;
  }

  /** Milliseconds until the next paced frame may go (0: now). */
  wait(): number {
    const t = this.now();
    const paused = this.pausedUntil - t;
    if (this.perMs === 0) return Math.max(0, paused);
    this.tokens = Math.min(this.burst, this.tokens + (t - this.at) * this.perMs);
    this.at = t;
    return Math.max(paused, this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.perMs));
  }

  /** A frame went out: every frame but ping/pong counts on the hub, paced or not. */
  spend(): void {
    this.wait();
    this.tokens--;
  }

  /** The hub answered `rate_limited`: nothing paced goes for `ms`, then the bucket refills from empty. */
  pause(ms: number): void {
    this.wait();
    this.tokens = Math.min(this.tokens, 0);
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }
}
