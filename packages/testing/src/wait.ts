/**
 * Waiting without sleeps, under real or fake timers. Fake timers (vitest's `vi.useFakeTimers()`
 * and Jest's modern timers are both @sinonjs/fake-timers) are detected through the `clock`
 * property the library puts on the `setTimeout` it installs; then waiting only flushes timers due
 * now and microtasks — it never moves the clock, so a test decides when time passes
 * (`await vi.advanceTimersByTimeAsync(ms)`).
 */

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long (real time; under fake timers, after ~`timeoutMs / 5` checks). @default 5000 */
  timeoutMs?: number;
  /** What the error says when giving up. */
  message?: string;
}

interface FakeClock {
  tickAsync(ms: number): Promise<unknown>;
}

/** The installed fake clock, if `setTimeout` is faked. */
export function fakeClock(): FakeClock | undefined {
  const clock = (globalThis.setTimeout as unknown as { clock?: FakeClock }).clock;
  return clock !== undefined && typeof clock.tickAsync === 'function' ? clock : undefined;
}

/** Lets pending work run: zero-delay timers and microtasks under fake timers, ~5 ms otherwise. */
export async function flush(): Promise<void> {
  const clock = fakeClock();
  if (clock !== undefined) await clock.tickAsync(0);
  else await new Promise<void>((r) => setTimeout(r, 5));
}

/**
 * Calls `check` until it returns a value other than `false`/`undefined` without throwing, and
 * resolves with that value. Rejects with the last error (or a timeout error) after `timeoutMs`.
 */
export async function waitFor<T>(
  check: () => T | false | undefined,
  options: WaitOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const started = Date.now();
  const maxChecks = Math.max(20, Math.ceil(timeoutMs / 5));
  let lastError: unknown;
  for (let i = 0; ; i++) {
    try {
      const value = check();
      if (value !== false && value !== undefined) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const faked = fakeClock() !== undefined;
    if (faked ? i >= maxChecks : Date.now() - started >= timeoutMs) {
      if (lastError instanceof Error) throw lastError;
      throw new Error(options.message ?? `waitFor: condition not met within ${timeoutMs} ms`);
    }
    await flush();
  }
}

/**
 * Event-driven wait: resolves once `check()` holds, re-checking each time the listener given to
 * `subscribe` fires (e.g. `(fn) => client.on('state', fn)`, which returns its unsubscribe
 * function). Rejects with "timed out waiting for <label>" after `timeoutMs`. Unlike
 * {@link waitFor} it never polls, so it suits real-time tests against real servers.
 */
export function waitUntil(
  subscribe: (listener: () => void) => () => void,
  check: () => boolean,
  label: string,
  timeoutMs = 5_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${label}`));
    }, timeoutMs);
    const off = subscribe(() => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}
