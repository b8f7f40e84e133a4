/**
 * Per-conversation delivery state of one connection: the highest seq it has covered, live
 * messages held back while a replay (or a join) is prepared, the epoch it counts in, and the acks
 * its own sends wait for. Messages reach the socket in seq order, each once; a conversation the
 * user left (`revoked`) receives nothing more but the user's own acks.
 */
import type { Message, ServerFrame } from '@parley/protocol';
import { type HubContext, metric } from './context.js';
import { frameBytes, MESSAGE_FRAME_PREFIX, type Outbound } from './outbound.js';

interface Held {
  message: Message;
  frame: string;
  origin: string | undefined;
  epoch: string | undefined;
  bytes: number;
}

/** One conversation as this socket sees it. */
export interface Cursor {
  /** Highest seq delivered (or covered by a replay/reset) on this socket. */
  upTo: number;
  /** While a replay is being prepared: live messages held back, in arrival order. */
  held: Held[] | null;
  /** Epoch of the history `upTo` counts in (from welcome/joined/replay, or the live messages). */
  epoch: string | undefined;
  /** The user left (`hub.leave`): nothing more is delivered; the `left` frame follows in order. */
  revoked: boolean;
  /** The client was told about it (`welcome` or `joined`), so a leave is announced with `left`. */
  announced: boolean;
  /**
   * The membership version the session start read for it (`RestoredMember`), 0 if none: joins
   * and leaves at or below it are already reflected and are ignored.
   */
  version: number;
}

/** What the cursors need from their connection. */
export interface CursorOwner {
  readonly id: string;
  /** For the metrics hook. */
  readonly ctx: HubContext;
  /** The authenticated user (set once the session started). */
  readonly userId: string | undefined;
  /** Sends a hub-built frame (a `reset` or an `ack`). */
  send(frame: ServerFrame): boolean;
}

export class Cursors {
  private readonly map = new Map<string, Cursor>();
  /**
   * Sends waiting for their fan-out, as (conversationId, clientMsgId, ref, stored message)
   * quadruples searched linearly: a connection has a few in flight. The message is set once the
   * engine stored it (see {@link stored}). A Map keyed per send built a key string per send and
   * reallocated its table on each delete, garbage that outlived scavenges (issue 15). Created on
   * the first send (idle connections hold none).
   */
  private acks: (string | Message | undefined)[] | undefined;

  constructor(
    private readonly owner: CursorOwner,
    private readonly outbound: Outbound,
  ) {}

  /** Conversations this socket is subscribed to and still a member of. */
  activeIds(): string[] {
    const out: string[] = [];
    for (const [id, c] of this.map) if (!c.revoked) out.push(id);
    return out;
  }

  /** Every conversation with a cursor, revoked ones included (for cleanup). */
  allIds(): string[] {
    return [...this.map.keys()];
  }

  get size(): number {
    return this.map.size;
  }

  get(conversationId: string): Cursor | undefined {
    return this.map.get(conversationId);
  }

  /** Subscribed and not left: the default membership check of every conversation frame. */
  active(conversationId: string): boolean {
    const c = this.map.get(conversationId);
    return c !== undefined && !c.revoked;
  }

  /** Starts holding live messages of a conversation back (before its replay or `joined`). */
  hold(conversationId: string, upTo = 0, epoch?: string): Cursor {
    const cursor: Cursor = { upTo, held: [], epoch, revoked: false, announced: false, version: 0 };
    this.map.set(conversationId, cursor);
    return cursor;
  }

  /** Marks `upTo` as covered and releases held messages above it, in order. */
  release(conversationId: string, upTo: number, epoch?: string): void {
    const cur = this.map.get(conversationId);
    if (cur === undefined) return;
    const held = cur.held ?? [];
    cur.held = null;
    cur.upTo = Math.max(cur.upTo, upTo);
    cur.epoch = epoch ?? cur.epoch;
    for (const h of held) {
      this.outbound.unreserve(h.bytes);
      this.deliver(h.message, h.frame, h.origin, h.epoch);
    }
  }

  /** The user left: deliver nothing more (held messages are dropped); acks still answer. */
  revoke(conversationId: string): Cursor | undefined {
    const cur = this.map.get(conversationId);
    if (cur === undefined) return undefined;
    cur.revoked = true;
    for (const h of cur.held ?? []) {
      this.outbound.unreserve(h.bytes);
      if (h.origin === this.owner.id) this.ack(h.message);
    }
    if (cur.held !== null) cur.held = [];
    return cur;
  }

  /**
   * Forgets a conversation (left, or the connection closed). Its hub may unsubscribe it now, so a
   * stored send still waiting for its message to come through the stream would never be answered
   * (on a Redis Cluster the `left` can overtake the message: another shard, another connection):
   * it is answered here, before the `left` that follows.
   */
  remove(conversationId: string): void {
    const cur = this.map.get(conversationId);
    if (cur === undefined) return;
    this.revoke(conversationId);
    this.map.delete(conversationId);
    const a = this.acks;
    if (a === undefined) return;
    for (let i = a.length - 4; i >= 0; i -= 4) {
      const message = a[i + 3];
      if (a[i] === conversationId && message !== undefined) this.ack(message as Message);
    }
  }

  clear(): void {
    for (const id of [...this.map.keys()]) this.remove(id);
    this.acks = undefined;
  }

  /** A send of this connection is about to be appended: its ack waits for the fan-out. */
  expectAck(conversationId: string, clientMsgId: string, ref: string | undefined): void {
    const i = this.findAck(conversationId, clientMsgId);
    if (i >= 0) {
      this.acks![i + 2] = ref;
      return;
    }
    this.acks ??= [];
    this.acks.push(conversationId, clientMsgId, ref, undefined);
  }

  /**
   * The engine stored a send of this connection (or found it stored: `duplicate`). Answered now
   * when a duplicate or when this socket does not hold the conversation; else the ack goes out at
   * the message's place in the stream, and the message is kept for {@link remove}.
   */
  stored(message: Message, duplicate: boolean): void {
    if (duplicate || !this.active(message.conversationId)) {
      this.ack(message, duplicate);
      return;
    }
    const i = this.findAck(message.conversationId, message.clientMsgId);
    if (i >= 0) this.acks![i + 3] = message;
  }

  private findAck(conversationId: string, clientMsgId: string): number {
    const a = this.acks;
    if (a === undefined) return -1;
    for (let i = 0; i < a.length; i += 4) {
      if (a[i + 1] === clientMsgId && a[i] === conversationId) return i;
    }
    return -1;
  }

  /** Removes the quadruple at `i` (the last one takes its place: order does not matter). */
  private dropAck(i: number): void {
    const a = this.acks!;
    const last = a.length - 4;
    if (i !== last) {
      a[i] = a[last];
      a[i + 1] = a[last + 1];
      a[i + 2] = a[last + 2];
      a[i + 3] = a[last + 3];
    }
    a.length = last;
  }

  /**
   * Answers a send of this connection with its `ack`, if nobody did yet. Returns false when it was
   * answered already (at its place in the stream).
   */
  ack(message: Message, duplicate = false, frame?: string): boolean {
    const i = this.findAck(message.conversationId, message.clientMsgId);
    if (i < 0) return false;
    const ref = this.acks![i + 2] as string | undefined;
    this.dropAck(i);
    if (frame?.startsWith(MESSAGE_FRAME_PREFIX)) {
      // The fan-out frame already holds the message's JSON: splice it instead of encoding the
      // message again (issue 15). Same fields as the object below.
      this.outbound.send(
        `{"type":"ack",${ref === undefined ? '' : `"ref":${JSON.stringify(ref)},`}"clientMsgId":${JSON.stringify(message.clientMsgId)},"duplicate":${duplicate},"message":${frame.slice(MESSAGE_FRAME_PREFIX.length, -1)}}`,
      );
      return true;
    }
    this.owner.send({
      type: 'ack',
      ...(ref === undefined ? {} : { ref }),
      clientMsgId: message.clientMsgId,
      message,
      duplicate,
    });
    return true;
  }

  /** Drops an expected ack (the send failed before it was stored). */
  forgetAck(conversationId: string, clientMsgId: string): void {
    const i = this.findAck(conversationId, clientMsgId);
    if (i >= 0) this.dropAck(i);
  }

  /** A live message of a subscribed conversation (or this connection's own ack), in seq order. */
  deliver(message: Message, frame: string, origin: string | undefined, epoch?: string): void {
    const cur = this.map.get(message.conversationId);
    if (cur === undefined || cur.revoked) {
      if (origin === this.owner.id) this.ack(message);
      return;
    }
    if (cur.held !== null) {
      // Bounded by the connection's byte budget: a replay that takes forever closes it (1013).
      const bytes = frameBytes(frame, Number.POSITIVE_INFINITY);
      if (this.outbound.reserve(bytes)) cur.held.push({ message, frame, origin, epoch, bytes });
      return;
    }
    if (epoch !== undefined && cur.epoch !== undefined && epoch !== cur.epoch) {
      // The store lost its history (a flushed Redis) and seqs restarted under a new epoch: say so,
      // instead of dropping the new seqs as already delivered (a silent hole).
      cur.epoch = epoch;
      cur.upTo = message.seq - 1;
      this.owner.send({
        type: 'reset',
        conversationId: message.conversationId,
        epoch,
        seq: cur.upTo,
        reason: 'epoch_changed',
      });
      metric(this.owner.ctx, {
        type: 'reset',
        conversationId: message.conversationId,
        reason: 'epoch_changed',
      });
      this.sendUnreadAt(message.conversationId, cur.upTo);
    }
    cur.epoch ??= epoch;
    if (message.seq <= cur.upTo) {
      // Already covered by a replay; this connection's own send still gets its ack.
      if (origin === this.owner.id) this.ack(message);
      return;
    }
    cur.upTo = message.seq;
    // This connection's own send: answered with its ack at the message's place in the stream
    // (never also as a `message`: an ack already answered elsewhere needs nothing more).
    if (origin === this.owner.id) this.ack(message, false, frame);
    else this.outbound.send(frame);
  }

  /**
   * After a live `reset` (built here, in order, without an engine round trip): the user's read
   * position and unread count at its seq follow as a `read` frame to this socket (`unread`
   * `{ count, at }`), so counts are right after a reset in the middle of a session too.
   */
  private sendUnreadAt(conversationId: string, at: number): void {
    const userId = this.owner.userId;
    if (userId === undefined) return;
    const { ctx } = this.owner;
    ctx.engine.unread(conversationId, userId, at).then(
      (u) => {
        if (this.map.get(conversationId)?.revoked !== false) return;
        this.owner.send({
          type: 'read',
          conversationId,
          userId,
          seq: u.readSeq,
          unread: { count: u.count, at: u.at },
        });
      },
      (err: unknown) =>
        ctx.logger.warn({ err, conversationId }, 'parley: unread count after a reset failed'),
    );
  }
}
