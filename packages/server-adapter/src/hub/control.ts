/**
 * Membership changes reaching one connection (`hub.join`, `hub.leave`), applied on its ordered
 * path (`Connection.enqueue`), so that they land between the frames they follow and precede and
 * after the session start when they arrive during it.
 *
 * - A leave takes effect on arrival (nothing of the conversation is delivered any more, frames for
 *   it are refused) and is announced with `left` in order.
 * - A join runs when its turn comes, unless a later join or leave of the same conversation
 *   arrived meanwhile (then that one decides), and re-checks the membership record after
 *   subscribing. It says `joined` with the head `hub.join` read, then replays everything after
 *   it: whatever was published after `hub.join` resolved reaches the socket exactly once.
 */
import { CloseCode, ErrorCode } from '@parley/protocol';
import type { JoinedEnvelope } from '../engines/types.js';
import type { Connection } from './connection.js';
import { metric } from './context.js';
import type { Cursor } from './cursors.js';
import { resume } from './replay.js';

/** `hub.join` reached the connection; `n` is its place among the conversation's changes. */
export async function applyJoin(conn: Connection, e: JoinedEnvelope, n: number): Promise<void> {
  const { ctx, registry } = conn.services;
  const id = e.conversationId;
  try {
    if (!conn.isOpen() || !conn.latestControl(id, n) || conn.cursors.active(id)) return;
    if (conn.cursors.size >= ctx.config.maxConversationsPerUser) {
      ctx.logger.warn(
        { userId: conn.userId, conversationId: id },
        'parley: join over maxConversationsPerUser ignored',
      );
      conn.sendError({
        code: ErrorCode.Forbidden,
        message: 'too many conversations',
        conversationId: id,
      });
      return;
    }
    const mine = conn.cursors.hold(id, e.seq, e.epoch);
    let member: boolean;
    try {
      await registry.addConversation(conn, id);
      // Subscribed first, then re-checked: a leave recorded after this read is published after
      // the subscription, so it reaches this socket and revokes the conversation.
      member = conn.isOpen() && (await ctx.engine.isMember(id, conn.userId!));
    } catch (err) {
      unavailable(conn, id, err);
      return;
    }
    // Closed, or a later change of this conversation arrived: that one decides. A later join
    // must find the conversation not held (else it would take it for joined and say nothing), so
    // what this join set up goes; a later leave revoked it and drops it in its turn.
    if (!conn.isOpen() || !conn.latestControl(id, n)) {
      if (conn.isOpen() && conn.cursors.get(id) === mine && !mine.revoked) drop(conn, id);
      return;
    }
    if (!member) {
      drop(conn, id);
      return;
    }
    conn.cursors.get(id)!.announced = true;
    conn.send({
      type: 'joined',
      conversationId: id,
      seq: e.seq,
      epoch: e.epoch,
      ...(e.readSeq === undefined ? {} : { readSeq: e.readSeq }),
      ...(e.unread === undefined ? {} : { unread: e.unread }),
    });
    try {
      const head = await resume(conn, id, { seq: e.seq, epoch: e.epoch }, undefined);
      conn.cursors.release(id, head.seq, head.epoch);
    } catch (err) {
      unavailable(conn, id, err);
    }
  } finally {
    conn.settleControl(id, n);
  }
}

/** The ordered half of a leave: forget the conversation and tell the client, if it knew it. */
export async function finishLeave(
  conn: Connection,
  conversationId: string,
  revoked: Cursor | undefined,
): Promise<void> {
  const cur = conn.cursors.get(conversationId);
  // A cursor that is not revoked belongs to a later join or to the session start, which saw the
  // membership after this leave: it stays.
  if (cur === undefined || !cur.revoked) return;
  drop(conn, conversationId);
  if (cur.announced || revoked?.announced) conn.send({ type: 'left', conversationId });
}

function drop(conn: Connection, conversationId: string): void {
  conn.cursors.remove(conversationId);
  conn.services.registry.removeConversation(conn, conversationId);
}

/**
 * The engine failed while a join was being served: nothing is left held, and the socket is closed
 * with 1011 so that the client resumes (its next session subscribes the conversation again).
 */
function unavailable(conn: Connection, conversationId: string, err: unknown): void {
  const { ctx } = conn;
  drop(conn, conversationId);
  metric(ctx, { type: 'hook.error', hook: 'engine.join' });
  ctx.logger.error({ err, userId: conn.userId, conversationId }, 'parley: join failed');
  conn.close(CloseCode.InternalError, 'unavailable');
}
