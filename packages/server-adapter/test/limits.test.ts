import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/hub/limits.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate and reports retryAfterMs', () => {
    let now = 0;
    const rl = new RateLimiter(3, 2, 5, () => now);
    expect([rl.take(), rl.take(), rl.take()].every((d) => d.ok)).toBe(true);
    expect(rl.take()).toEqual({ ok: false, retryAfterMs: 500, flood: false });
    now += 500;
    expect(rl.take().ok).toBe(true);
    expect(rl.take().retryAfterMs).toBe(500);
  });

  it('flags a flood past the threshold within the window, and forgets it after the window', () => {
    let now = 0;
    const rl = new RateLimiter(1, 1, 3, () => now);
    rl.take();
    const decisions = Array.from({ length: 4 }, () => rl.take());
    expect(decisions.map((d) => d.flood)).toEqual([false, false, false, true]);
    now += 10_001;
    rl.take();
    expect(rl.take().flood).toBe(false);
  });
});
