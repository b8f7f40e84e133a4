/**
 * HTTP callbacks to the app: JSON POST with a per-attempt timeout, retries with full-jitter
 * exponential backoff where the caller says it is safe, and typed errors. In-flight calls are
 * tracked so that a graceful shutdown can wait for them.
 */
import type { Logger } from '@parley/server-adapter';

/** The app could not be reached, timed out, or answered 5xx/408/429 on every attempt. */
export class AppUnavailableError extends Error {
  override readonly name = 'AppUnavailableError';
  readonly code = 'app_unavailable';
  constructor(
    readonly callback: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`callback ${callback} unavailable: ${reason}`, options);
  }
}

/** The app answered something the callback contract does not allow (bad JSON, an unexpected status). */
export class AppContractError extends Error {
  override readonly name = 'AppContractError';
  readonly code = 'app_contract';
  constructor(
    readonly callback: string,
    reason: string,
  ) {
    super(`callback ${callback}: ${reason}`);
  }
}

/** Settings shared by every callback (config `callbacks`). */
export interface CallbackSettings {
  secret?: string | undefined;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

/** A non-retryable answer: 2xx, or a 4xx other than 408/429. */
export interface CallResult {
  status: number;
  /** Parsed JSON body; `undefined` when empty. */
  body: unknown;
}

export interface CallOptions {
  /** Retry network errors, timeouts, 5xx, 408 and 429 (only for idempotent calls). */
  retry: boolean;
  headers?: Record<string, string>;
}

/** Per-callback counters for `/v1/stats`. */
export interface CallbackStats {
  calls: number;
  retries: number;
  failures: number;
}

export interface Caller {
  call(name: string, url: string, body: unknown, options: CallOptions): Promise<CallResult>;
  /** Resolves when every in-flight call settled, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  stats(): Record<string, CallbackStats>;
  readonly inFlight: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface CallerOptions {
  /** Source of the backoff jitter. @default Math.random */
  random?: () => number;
  /**
   * Called when a call ended: `answered` (the app gave a final answer, 2xx or 4xx), `unavailable`
   * (every attempt failed) or `invalid` (a contract error), after `seconds` (attempts and backoff).
   * @default none
   */
  onCall?: (
    callback: string,
    seconds: number,
    result: 'answered' | 'unavailable' | 'invalid',
  ) => void;
}

/** Creates the callback client. */
export function createCaller(
  settings: CallbackSettings,
  logger: Logger,
  options: CallerOptions = {},
): Caller {
  const random = options.random ?? Math.random;
  const onCall = options.onCall;
  const pending = new Set<Promise<unknown>>();
  const counters: Record<string, CallbackStats> = {};

  async function attempt(
    name: string,
    url: string,
    payload: string,
    headers: Record<string, string>,
  ): Promise<CallResult | { retryable: string }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: payload,
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${settings.timeoutMs} ms`
          : `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}`;
      return { retryable: reason };
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      return { retryable: `reading the answer failed: ${(err as Error).message}` };
    }
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      return { retryable: `HTTP ${res.status}` };
    }
    let body: unknown;
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new AppContractError(name, `HTTP ${res.status} with a body that is not JSON`);
      }
    }
    logger.debug({ callback: name, status: res.status }, 'callback answered');
    return { status: res.status, body };
  }

  async function run(
    name: string,
    url: string,
    body: unknown,
    o: CallOptions,
  ): Promise<CallResult> {
    const c = counters[name] ?? { calls: 0, retries: 0, failures: 0 };
    counters[name] = c;
    c.calls++;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'parley-server',
      ...(settings.secret === undefined ? {} : { authorization: `Bearer ${settings.secret}` }),
      ...o.headers,
    };
    const payload = JSON.stringify(body);
    const attempts = o.retry ? settings.retries + 1 : 1;
    let reason = 'not attempted';
    for (let i = 0; i < attempts; i++) {
      if (i > 0) {
        c.retries++;
        const window = Math.min(settings.maxBackoffMs, settings.backoffMs * 2 ** (i - 1));
        await sleep(Math.floor(random() * window));
      }
      const r = await attempt(name, url, payload, headers);
      if (!('retryable' in r)) return r;
      reason = r.retryable;
      logger.warn({ callback: name, attempt: i + 1, of: attempts, reason }, 'callback failed');
    }
    c.failures++;
    throw new AppUnavailableError(name, reason);
  }

  return {
    call(name, url, body, options) {
      const started = performance.now();
      const p = run(name, url, body, options);
      if (onCall !== undefined) {
        const report = (result: 'answered' | 'unavailable' | 'invalid') => {
          try {
            onCall(name, (performance.now() - started) / 1000, result);
          } catch (err) {
            logger.warn({ err, callback: name }, 'callback observer failed');
          }
        };
        p.then(
          () => report('answered'),
          (err: unknown) => report(err instanceof AppContractError ? 'invalid' : 'unavailable'),
        );
      }
      pending.add(p);
      const done = () => pending.delete(p);
      p.then(done, done);
      return p;
    },
    async drain(timeoutMs) {
      if (pending.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...pending]),
        new Promise<void>((r) => {
          timer = setTimeout(r, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
    },
    stats: () => structuredClone(counters),
    get inFlight() {
      return pending.size;
    },
  };
}
