/** Per-connection rate limiting: a token bucket plus a flood detector. */

export interface RateDecision {
  ok: boolean;
  /** When `ok` is false: how long until one token is available. */
  retryAfterMs: number;
  /** When true the client is flooding past the abuse threshold: close 4429. */
  flood: boolean;
}

const FLOOD_WINDOW_MS = 10_000;

/** The decision for a frame within the limit: one shared object, none allocated per frame. */
const OK: RateDecision = Object.freeze({ ok: true, retryAfterMs: 0, flood: false });

/** A token bucket of `burst` tokens refilled at `perSecond`; `now` is injectable for tests. */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private violations = 0;
  private windowStart = 0;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    private readonly floodThreshold: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes one token. */
  take(): RateDecision {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return OK;
    }
    if (t - this.windowStart > FLOOD_WINDOW_MS) {
      this.windowStart = t;
      this.violations = 0;
    }
    this.violations++;
    const retryAfterMs = Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
    return { ok: false, retryAfterMs, flood: this.violations > this.floodThreshold };
  }
}
