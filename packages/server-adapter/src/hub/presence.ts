/**
 * Presence: online while a user has at least one live socket on any process, offline only after
 * the grace period (so a reconnect does not flap), announced only to users sharing a conversation.
 */
import type { PresenceState } from '@parley/protocol';
import type { HubContext } from './context.js';

export class PresenceTracker {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly ctx: HubContext) {}

  /** TTL of a presence entry: two missed heartbeats and the entry expires. */
  get ttlMs(): number {
    return 2 * (this.ctx.config.heartbeatIntervalMs + this.ctx.config.heartbeatTimeoutMs);
  }

  /** A socket of `userId` became live. Announces "online" when the user was offline. */
  async connected(userId: string, connectionId: string, conversationIds: string[]): Promise<void> {
    const { wasOnline } = await this.ctx.engine.presenceConnect(userId, connectionId, this.ttlMs);
    if (!wasOnline) {
      await this.ctx.engine.publish('presence', {
        kind: 'presence',
        userId,
        online: true,
        conversationIds,
      });
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
    if (remaining > 0 || this.ctx.closing) return;
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

  /** Cancels pending offline checks (hub.close). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
