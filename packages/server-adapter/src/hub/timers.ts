/**
 * The deadlines of one connection: `hello`, session start, the heartbeat, and the credential's
 * refresh request and expiry. Each is one timer with one documented bound; `clear()` cancels all.
 */
import { CloseCode } from '@parley/protocol';
import { type HubContext, metric } from './context.js';

const MAX_TIMER = 2_147_483_647;

/**
 * Each ping goes out at a random point of the last fifth of the heartbeat interval. Sockets
 * that connected together (a deploy, a reconnect storm) would otherwise ping, get their pongs and
 * re-arm in lockstep, every interval, for as long as they live: thousands of pings and pongs in
 * one timer turn, a latency spike for every frame behind them (issue 15, measured in the ramp).
 * Pings stay at most `intervalMs` apart, which is all a client may rely on.
 */
export const HEARTBEAT_JITTER = 0.2;

/**
 * The jitter takes one of this many + 1 steps. Node keeps one timer list per distinct delay: an
 * exact jitter gave nearly every socket a list of its own (~60 B of idle heap each, and a timer
 * heap as large as the socket count); 51 delays serve every socket and still spread them (2 % of
 * the sockets per step).
 */
export const HEARTBEAT_JITTER_STEPS = 50;

/** The delay of the next ping: within `[interval × (1 − jitter), interval]`, in whole steps. */
export const pingDelay = (intervalMs: number, random: number = Math.random()): number =>
  Math.round(
    intervalMs *
      (1 -
        (HEARTBEAT_JITTER * Math.round(random * HEARTBEAT_JITTER_STEPS)) / HEARTBEAT_JITTER_STEPS),
  );

const clamp = (ms: number): number => Math.min(MAX_TIMER, Math.max(0, ms));

/** What the timers act on. */
export interface TimerOwner {
  readonly id: string;
  readonly userId: string | undefined;
  readonly expiresAt: number | undefined;
  isClosed(): boolean;
  isOpen(): boolean;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
  /** Asks the client for a fresh token (`reauth`). */
  requestReauth(deadlineMs: number): void;
  /** A pong arrived in time: refresh the presence entry. */
  alive(): void;
}

export class Timers {
  private hello: ReturnType<typeof setTimeout> | undefined;
  private session: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private pong: ReturnType<typeof setTimeout> | undefined;
  private reauth: ReturnType<typeof setTimeout> | undefined;
  private expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: HubContext,
    private readonly owner: TimerOwner,
  ) {
    this.hello = setTimeout(
      () => owner.close(CloseCode.HelloTimeout, 'hello timeout'),
      ctx.config.helloTimeoutMs,
    );
  }

  /**
   * `hello` arrived: the session must start (authenticate, conversationsOf, welcome) within
   * `sessionStartTimeoutMs`, else 1013: a hung app hook never leaves a client waiting forever.
   */
  helloReceived(): void {
    clearTimeout(this.hello);
    // A cleared timer still holds its closure while referenced: drop it (idle memory, issue 15).
    this.hello = undefined;
    this.session = setTimeout(
      () => this.owner.close(CloseCode.TryAgainLater, 'session start timeout'),
      this.ctx.config.sessionStartTimeoutMs,
    );
  }

  /** `welcome` was sent: the session started in time. */
  sessionStarted(): void {
    clearTimeout(this.session);
    this.session = undefined;
    this.startHeartbeat();
  }

  /**
   * Sends a WebSocket ping at most `intervalMs` after welcome (or the last pong; see
   * {@link pingDelay}); no pong: terminate.
   */
  private startHeartbeat(): void {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (this.owner.isClosed()) return;
      this.owner.ping();
      this.pong = setTimeout(() => {
        this.ctx.counters.heartbeatTimeouts++;
        metric(this.ctx, {
          type: 'heartbeat.timeout',
          ...(this.owner.userId === undefined ? {} : { userId: this.owner.userId }),
        });
        this.ctx.logger.debug({ connectionId: this.owner.id }, 'parley: heartbeat timeout');
        this.owner.terminate();
      }, this.ctx.config.heartbeatTimeoutMs);
    }, pingDelay(this.ctx.config.heartbeatIntervalMs));
  }

  /** A pong: the link is alive (a pong nobody waited for is ignored). */
  onPong(): void {
    if (this.pong === undefined || this.owner.isClosed()) return;
    clearTimeout(this.pong);
    this.pong = undefined;
    if (this.owner.isOpen()) this.owner.alive();
    this.startHeartbeat();
  }

  /**
   * (Re)schedules the `reauth` request and the expiry close for the current credential. At
   * welcome the request goes out `refreshLeadMs` before expiry (at once if less is left). After a
   * refresh (`afterRefresh`) it never goes out sooner than `minRefreshIntervalMs` later, and not
   * at all when the credential expires before that: a token provider that hands back the same
   * cached token is not asked again at once (issue 13: a refresh storm).
   */
  scheduleExpiry(afterRefresh: boolean): void {
    clearTimeout(this.reauth);
    clearTimeout(this.expiry);
    const expiresAt = this.owner.expiresAt;
    if (expiresAt === undefined) return;
    const left = expiresAt - Date.now();
    const { refreshLeadMs, minRefreshIntervalMs } = this.ctx.config;
    let delay = left - refreshLeadMs;
    if (afterRefresh) delay = Math.max(delay, minRefreshIntervalMs);
    if (!afterRefresh || delay < left) {
      this.reauth = setTimeout(
        () => this.owner.requestReauth(Math.max(0, Math.round(expiresAt - Date.now()))),
        clamp(delay),
      );
    }
    this.expiry = setTimeout(
      () => this.owner.close(CloseCode.Unauthenticated, 'token expired'),
      clamp(left),
    );
  }

  clear(): void {
    for (const t of [this.hello, this.session, this.pingTimer, this.pong, this.reauth, this.expiry])
      clearTimeout(t);
  }
}
