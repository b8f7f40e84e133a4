/**
 * Local fan-out: which of this process's connections are subscribed to which conversation and
 * user, the engine subscriptions behind them (one per topic, reference-counted), and the
 * delivery of every envelope — serialised once per envelope, never once per socket.
 */
import type { Message } from '@parley/protocol';
import type { Envelope, JoinedEnvelope, Topic, Unsubscribe } from '../engines/types.js';
import { Groups } from '../groups.js';
import type { HubContext } from './context.js';
import { messageFrame } from './outbound.js';

/** What delivery needs from a connection. Implemented by `Connection`. */
export interface Deliverable {
  readonly id: string;
  readonly userId: string | undefined;
  /** A message (or this connection's own ack) for a subscribed conversation, in seq order. */
  deliverMessage(message: Message, frame: string, origin: string | undefined, epoch?: string): void;
  /** Whether the connection is subscribed to the conversation and still a member. */
  member(conversationId: string): boolean;
  /** Any other frame; `ephemeral` frames are dropped under backpressure. */
  deliver(frame: string, ephemeral: boolean): void;
  /** A message this connection sent, in a conversation it is not subscribed to: its ack. */
  ownMessage(message: Message): void;
  /** `hub.join` / `hub.leave` reached this user. */
  joined(envelope: JoinedEnvelope): void;
  left(conversationId: string, version: number | undefined): void;
  /** `hub.disconnectUser`. */
  kick(code: number, reason: string): void;
}

export class Registry {
  private readonly byConversation = new Groups<string, Deliverable>();
  private readonly byUser = new Groups<string, Deliverable>();
  /** Every connection of this process by id, so a sender gets its ack wherever it stands. */
  private readonly byId = new Map<string, Deliverable>();
  private readonly subs = new Map<Topic, Promise<Unsubscribe | undefined>>();

  constructor(private readonly ctx: HubContext) {}

  /** Number of conversations with at least one local subscriber. */
  get conversationCount(): number {
    return this.byConversation.size;
  }
  get userCount(): number {
    return this.byUser.size;
  }

  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private wakeRetry: (() => void) | undefined;

  /**
   * Subscribes the presence topic, retrying with capped exponential backoff while the engine is
   * unreachable (a hub started while Redis is down must still get presence once Redis is back).
   * Resolves once subscribed, or once {@link abortStart} was called.
   */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.topic('presence');
        return;
      } catch (err) {
        if (this.ctx.closing) return;
        const delayMs = Math.min(30_000, 250 * 2 ** attempt);
        this.ctx.logger.warn({ err, delayMs }, 'parley: presence subscription failed, retrying');
        await new Promise<void>((resolve) => {
          this.wakeRetry = resolve;
          this.retryTimer = setTimeout(resolve, delayMs);
        });
        if (this.ctx.closing) return;
      }
    }
  }

  /** Stops a pending {@link start} retry (hub.close). */
  abortStart(): void {
    clearTimeout(this.retryTimer);
    this.wakeRetry?.();
  }

  register(conn: Deliverable): void {
    this.byId.set(conn.id, conn);
  }

  unregister(conn: Deliverable): void {
    this.byId.delete(conn.id);
  }

  async addUser(conn: Deliverable, userId: string): Promise<void> {
    await this.add(this.byUser, userId, `user:${userId}`, conn);
  }

  removeUser(conn: Deliverable, userId: string): void {
    this.remove(this.byUser, userId, `user:${userId}`, conn);
  }

  /** Resolves once envelopes published on the conversation reach `conn`. */
  async addConversation(conn: Deliverable, conversationId: string): Promise<void> {
    await this.add(this.byConversation, conversationId, `conv:${conversationId}`, conn);
  }

  removeConversation(conn: Deliverable, conversationId: string): void {
    this.remove(this.byConversation, conversationId, `conv:${conversationId}`, conn);
  }

  /** Drops every engine subscription (hub.close). */
  async stop(): Promise<void> {
    const all = [...this.subs.values()];
    this.subs.clear();
    this.byConversation.clear();
    this.byUser.clear();
    this.byId.clear();
    await Promise.all(
      all.map(async (p) => {
        try {
          await (await p)?.();
        } catch (err) {
          this.ctx.logger.warn({ err }, 'parley: unsubscribe failed');
        }
      }),
    );
  }

  private async add(
    groups: Groups<string, Deliverable>,
    key: string,
    topic: Topic,
    conn: Deliverable,
  ): Promise<void> {
    groups.add(key, conn);
    await this.topic(topic);
  }

  private remove(
    groups: Groups<string, Deliverable>,
    key: string,
    topic: Topic,
    conn: Deliverable,
  ): void {
    if (!groups.delete(key, conn)) return;
    const sub = this.subs.get(topic);
    this.subs.delete(topic);
    void sub
      ?.then((unsubscribe) => unsubscribe?.())
      .catch((err: unknown) => this.ctx.logger.warn({ err, topic }, 'parley: unsubscribe failed'));
  }

  private topic(topic: Topic): Promise<Unsubscribe | undefined> {
    let sub = this.subs.get(topic);
    if (sub === undefined) {
      sub = this.ctx.engine.subscribe(topic, (e) => this.onEnvelope(topic, e));
      this.subs.set(topic, sub);
      // A failed subscription is retried by the next subscriber; the caller sees the error.
      sub.catch(() => {
        if (this.subs.get(topic) === sub) this.subs.delete(topic);
      });
    }
    return sub;
  }

  private onEnvelope(topic: Topic, e: Envelope): void {
    try {
      this.route(topic, e);
    } catch (err) {
      this.ctx.logger.error({ err, topic }, 'parley: delivery failed');
    }
  }

  // Groups are iterated live, not copied per envelope: deleting during iteration is safe (a
  // connection closed mid-loop is skipped) and no delivery adds a connection synchronously.
  private route(topic: Topic, e: Envelope): void {
    switch (e.kind) {
      case 'message': {
        const id = e.message.conversationId;
        const sender = e.origin === undefined ? undefined : this.byId.get(e.origin);
        if (sender !== undefined && !this.byConversation.has(id, sender)) {
          sender.ownMessage(e.message);
        }
        if (this.byConversation.count(id) === 0) return;
        const frame = e.json === undefined ? messageFrame(e.message) : messageFrame(e.json);
        this.byConversation.forEach(id, (c) =>
          c.deliverMessage(e.message, frame, e.origin, e.epoch),
        );
        return;
      }
      case 'typing': {
        if (this.byConversation.count(e.conversationId) === 0) return;
        const frame = JSON.stringify({
          type: 'typing',
          conversationId: e.conversationId,
          userId: e.userId,
          state: e.state,
          ttlMs: this.ctx.config.typingTtlMs,
        });
        this.byConversation.forEach(e.conversationId, (c) => {
          if (c.userId !== e.userId) c.deliver(frame, true);
        });
        return;
      }
      case 'read': {
        // The reader's own sockets (every device, every process) hear it on the user's topic,
        // with the unread count; the other members on the conversation's (issue 16).
        const own = topic.startsWith('user:');
        const groups = own ? this.byUser : this.byConversation;
        const key = own ? e.userId : e.conversationId;
        if (groups.count(key) === 0) return;
        const frame = JSON.stringify({
          type: 'read',
          conversationId: e.conversationId,
          userId: e.userId,
          seq: e.seq,
          ...(own && e.unread !== undefined ? { unread: e.unread } : {}),
        });
        groups.forEach(key, (c) => {
          if (c.id === e.origin || (!own && c.userId === e.userId)) return;
          if (own && !c.member(e.conversationId)) return;
          c.deliver(frame, false);
        });
        return;
      }
      case 'event': {
        const frame = JSON.stringify({
          type: 'event',
          name: e.name,
          from: e.from,
          ...(e.conversationId === undefined ? {} : { conversationId: e.conversationId }),
          payload: e.payload,
        });
        const send = (c: Deliverable): void => {
          if (c.userId !== e.exceptUserId) c.deliver(frame, false);
        };
        if (topic.startsWith('user:')) this.byUser.forEach(topic.slice(5), send);
        else if (e.conversationId !== undefined)
          this.byConversation.forEach(e.conversationId, send);
        return;
      }
      case 'presence': {
        const targets = new Set<Deliverable>();
        for (const id of e.conversationIds) {
          this.byConversation.forEach(id, (c) => {
            if (c.userId !== e.userId) targets.add(c);
          });
        }
        if (targets.size === 0) return;
        const frame = JSON.stringify({
          type: 'presence',
          userId: e.userId,
          online: e.online,
          ...(e.lastSeenAt === undefined ? {} : { lastSeenAt: e.lastSeenAt }),
        });
        for (const c of targets) c.deliver(frame, true);
        return;
      }
      case 'conversation': {
        if (this.byConversation.count(e.conversationId) === 0) return;
        const frame = JSON.stringify({
          type: 'conversation',
          conversationId: e.conversationId,
          meta: e.meta,
        });
        this.byConversation.forEach(e.conversationId, (c) => {
          if (c.member(e.conversationId)) c.deliver(frame, false);
        });
        return;
      }
      case 'joined':
        // An envelope from a process that predates the head in `joined` is ignored.
        if (typeof e.seq !== 'number' || typeof e.epoch !== 'string') return;
        this.byUser.forEach(e.userId, (c) => c.joined(e));
        return;
      case 'left':
        // The copy on the conversation's topic (LeftEnvelope) reaches the user's sockets that
        // receive the conversation, in order with its messages; the one on the user's reaches
        // the others. Whichever comes second has the same version and is ignored.
        if (topic.startsWith('conv:')) {
          const users = new Set(e.userIds ?? [e.userId]);
          this.byConversation.forEach(e.conversationId, (c) => {
            if (c.userId !== undefined && users.has(c.userId)) c.left(e.conversationId, e.version);
          });
        } else this.byUser.forEach(e.userId, (c) => c.left(e.conversationId, e.version));
        return;
      case 'disconnect':
        // On a conversation's topic: the copy ordered with its messages (kickInConversations).
        if (topic.startsWith('conv:')) {
          this.byConversation.forEach(topic.slice(5), (c) => {
            if (c.userId === e.userId) c.kick(e.code, e.reason);
          });
        } else this.byUser.forEach(e.userId, (c) => c.kick(e.code, e.reason));
        return;
    }
  }
}
