/**
 * Presence: online while a user has at least one live socket on any process, offline only after
 * the grace period (so a reconnect does not flap), announced only to users sharing a conversation.
 */
import type { PresenceState } from '@parley/protocol';
import type { HubContext } from './context.js';

/** Most presence entries refreshed in one engine call. */
const REFRESH_BATCH = 500;

export class PresenceTracker {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private sweeping = false;

  constructor(private readonly ctx: HubContext) {}

  /** TTL of a presence entry: two missed heartbeats and the entry expires. */
  get ttlMs(): number {
    return 2 * (this.ctx.config.heartbeatIntervalMs + this.ctx.config.heartbeatTimeoutMs);
  }

  /**
   * A socket of `userId` became live. Announces "online" when the user was offline. Returns the
   * number of the user's live sockets (this one included), on every process.
   */
  async connected(
    userId: string,
    connectionId: string,
    conversationIds: string[],
  ): Promise<{ connections: number }> {
    const { wasOnline, connections } = await this.ctx.engine.presenceConnect(
      userId,
      connectionId,
      this.ttlMs,
    );
    if (!wasOnline) {
      await this.ctx.engine.publish('presence', {
        kind: 'presence',
        userId,
        online: true,
        conversationIds,
      });
    }
    return { connections };
  }

  /**
   * With an engine that sweeps (`presenceSweep`), every process sweeps periodically and announces
   * what it claims: the end of a grace period, and the users of a crashed process whose
   * connections expired. Each transition is claimed once, so it is announced once.
   */
  start(): void {
    if (this.ctx.engine.presenceSweep === undefined) return;
    const everyMs = Math.max(100, Math.min(1000, this.ctx.config.graceMs));
    this.sweepTimer = setInterval(() => void this.sweep(), everyMs);
    this.sweepTimer.unref?.();
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || this.ctx.closing) return;
    this.sweeping = true;
    try {
      for (const { userId, lastSeenAt } of await this.ctx.engine.presenceSweep!()) {
        // Claimed once for the whole cluster: a failure here loses this one announcement only.
        try {
          const conversationIds = [...(await this.ctx.options.conversationsOf(userId))];
          await this.ctx.engine.publish('presence', {
            kind: 'presence',
            userId,
            online: false,
            lastSeenAt,
            conversationIds,
          });
        } catch (err) {
          this.ctx.logger.warn({ err, userId }, 'parley: presence update failed');
        }
      }
    } catch (err) {
      this.ctx.logger.warn({ err }, 'parley: presence sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** A socket of `userId` closed. Schedules the offline check after the grace period. */
  async disconnected(
    userId: string,
    connectionId: string,
    conversationIds: string[],
  ): Promise<void> {
    const graceMs = this.ctx.config.graceMs;
    const { remaining } = await this.ctx.engine.presenceDisconnect(userId, connectionId, graceMs);
    // A sweeping engine announces the end of the grace period itself (see `start`).
    if (remaining > 0 || this.ctx.closing || this.sweepTimer !== undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.checkOffline(userId, conversationIds);
    }, graceMs + 1);
    this.timers.add(timer);
  }

  private async checkOffline(userId: string, conversationIds: string[]): Promise<void> {
    try {
      const rec = (await this.ctx.engine.presence([userId])).get(userId);
      if (rec === undefined || rec.online || this.ctx.closing) return;
      await this.ctx.engine.publish('presence', {
        kind: 'presence',
        userId,
        online: false,
        ...(rec.lastSeenAt === undefined ? {} : { lastSeenAt: rec.lastSeenAt }),
        conversationIds,
      });
    } catch (err) {
      this.ctx.logger.warn({ err, userId }, 'parley: presence update failed');
    }
  }

  /** Presence of the given users, for `welcome`. */
  async snapshot(userIds: string[]): Promise<PresenceState[]> {
    if (userIds.length === 0) return [];
    const recs = await this.ctx.engine.presence(userIds);
    return userIds.map((userId) => {
      const r = recs.get(userId);
      return r?.lastSeenAt === undefined
        ? { userId, online: r?.online ?? false }
        : { userId, online: r.online, lastSeenAt: r.lastSeenAt };
    });
  }

  /** Heartbeat refreshes waiting for the next batch (see `refresh`). */
  private refreshes: { userId: string; connectionId: string }[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * A socket answered a heartbeat: its presence entry is refreshed, in one engine call per batch
   * for every socket of this process (issue 15: not one script per pong). The batch waits at most
   * a tenth of the entry's ttl (≤ 1 s). A refresh that lands after its socket closed is a no-op
   * (engines refresh only entries that still exist).
   */
  refresh(userId: string, connectionId: string): void {
    this.refreshes.push({ userId, connectionId });
    if (this.refreshTimer !== undefined) return;
    const delayMs = Math.max(10, Math.min(1000, Math.floor(this.ttlMs / 10)));
    this.refreshTimer = setTimeout(() => this.flushRefreshes(), delayMs);
    this.refreshTimer.unref?.();
  }

  private flushRefreshes(): void {
    this.refreshTimer = undefined;
    const all = this.refreshes;
    this.refreshes = [];
    if (this.ctx.closing) return;
    for (let i = 0; i < all.length; i += REFRESH_BATCH) {
      this.ctx.engine
        .presenceRefresh(all.slice(i, i + REFRESH_BATCH), this.ttlMs)
        .catch((err: unknown) => this.ctx.logger.warn({ err }, 'parley: presence refresh failed'));
    }
  }

  /** Cancels pending refreshes and offline checks (hub.close). */
  stop(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.refreshes = [];
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
