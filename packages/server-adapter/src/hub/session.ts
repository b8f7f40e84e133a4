/**
 * Session start: `hello` -> `welcome` -> `summary` chunks -> replay/reset for the conversations
 * the hello has cursors for -> `synced` -> live, as the first task of the
 * connection's ordered path (so frames and membership changes that arrive meanwhile run after it,
 * in order), within `limits.sessionStartTimeoutMs`.
 *
 * Nothing that lands while it runs is lost (issue 13):
 * 1. the control mark is read before `authenticate`;
 * 2. the user's topic is subscribed before `conversationsOf`, so every join, leave and kick
 *    published from then on reaches the connection (joins and leaves queue behind this task, a
 *    kick closes it at once);
 * 3. a kick recorded after the mark (it landed before the subscription) closes the socket;
 * 4. each conversation is subscribed, then recorded as a membership unless a leave recorded after
 *    the mark says otherwise (`restoreMember`): the last change wins, not the possibly older list.
 *    The membership version read there is the floor for the joins and leaves applied afterwards.
 */
import { CloseCode, type HelloFrame, Limits, PROTOCOL_VERSION } from '@parley/protocol';
import { ForbiddenError } from '../errors.js';
import type { Connection } from './connection.js';
import {
  callHook,
  callHookWithin,
  HookError,
  type HubContext,
  identityProblem,
  metric,
} from './context.js';
import { inboxRows, loadMeta, summaryFrames } from './inbox.js';
import type { Outbound } from './outbound.js';
import { resume } from './replay.js';

/** Members of a conversation: the app's `membersOf` hook, else the engine's record. */
export async function membersOf(
  ctx: HubContext,
  conversationId: string,
): Promise<readonly string[]> {
  const hook = ctx.options.membersOf;
  if (hook !== undefined) return callHookWithin(ctx, 'membersOf', () => hook(conversationId));
  return ctx.engine.members(conversationId);
}

/** Closes a session that cannot start because the engine or a hook failed (1011). */
function failed(conn: Connection, err: unknown): void {
  conn.ctx.logger.error({ err, userId: conn.userId }, 'parley: session start failed');
  conn.close(CloseCode.InternalError, err instanceof HookError ? 'unavailable' : 'internal error');
}

export async function startSession(conn: Connection, hello: HelloFrame): Promise<void> {
  const { ctx, registry } = conn.services;
  let since: number;
  try {
    since = await ctx.engine.controlMark();
  } catch (err) {
    failed(conn, err);
    return;
  }
  if (conn.isClosed()) return;

  // 1. Who is it?
  let auth: Awaited<ReturnType<typeof ctx.options.authenticate>>;
  try {
    auth = await callHook(
      'authenticate',
      () =>
        ctx.options.authenticate({ token: hello.token, request: conn.request, reason: 'hello' }),
      (e) => e instanceof ForbiddenError,
    );
  } catch (err) {
    if (err instanceof ForbiddenError) conn.close(CloseCode.Forbidden, 'forbidden');
    else {
      metric(ctx, { type: 'hook.error', hook: 'authenticate' });
      ctx.logger.error({ err }, 'parley: authenticate failed');
      conn.close(CloseCode.InternalError, 'internal error');
    }
    return;
  }
  if (conn.isClosed()) return;
  if (auth === null || typeof auth?.userId !== 'string' || auth.userId === '') {
    conn.close(CloseCode.Unauthenticated, 'unauthenticated');
    return;
  }
  if (auth.expiresAt !== undefined && auth.expiresAt <= Date.now()) {
    conn.close(CloseCode.Unauthenticated, 'token expired');
    return;
  }
  const userId = auth.userId;
  // Validated once here, and only the validated profile is kept (no `id`, no extra fields), so
  // that every message this session sends carries an identity every client can decode.
  const identity = identityProblem(userId, auth.profile);
  if (identity.problem !== undefined) {
    ctx.logger.error(
      { userId, problem: identity.problem },
      'parley: authenticate returned an invalid identity',
    );
    conn.close(CloseCode.InternalError, 'internal error');
    return;
  }
  conn.userId = userId;
  conn.profile = identity.profile;
  conn.expiresAt = auth.expiresAt;

  try {
    // 2. The user's topic first: joins, leaves and kicks from now on reach this connection.
    await registry.addUser(conn, userId);
    if (conn.isClosed()) return;
    // 3. A kick that landed between the mark and the subscription.
    const kick = await ctx.engine.kickedSince(userId, since);
    if (kick !== undefined) {
      conn.close(kick.code, kick.reason);
      return;
    }
    if (conn.isClosed()) return;
  } catch (err) {
    failed(conn, err);
    return;
  }

  // 4. Which conversations?
  let conversationIds: string[];
  try {
    const list = await callHook('conversationsOf', () => ctx.options.conversationsOf(userId));
    conversationIds = [...new Set(list)];
  } catch (err) {
    metric(ctx, { type: 'hook.error', hook: 'conversationsOf' });
    ctx.logger.error({ err, userId }, 'parley: conversationsOf failed');
    conn.close(CloseCode.InternalError, 'internal error');
    return;
  }
  if (conn.isClosed()) return;
  if (conversationIds.length > ctx.config.maxConversationsPerUser) {
    ctx.logger.error({ userId, count: conversationIds.length }, 'parley: too many conversations');
    conn.close(CloseCode.Forbidden, 'too many conversations');
    return;
  }

  try {
    await welcome(conn, hello, userId, conversationIds, since, auth.expiresAt);
  } catch (err) {
    failed(conn, err);
  }
}

async function welcome(
  conn: Connection,
  hello: HelloFrame,
  userId: string,
  listed: string[],
  since: number,
  expiresAt: number | undefined,
): Promise<void> {
  const { ctx, registry, presence } = conn.services;
  // 5. Subscribe everything first, holding live messages back, so nothing falls between the
  // heads read below and the replay; then record the memberships (unless removed since).
  for (const id of listed) conn.cursors.hold(id);
  await Promise.all(listed.map((id) => registry.addConversation(conn, id)));
  if (conn.isClosed()) return;
  const restored = await Promise.all(
    listed.map((id) => ctx.engine.restoreMember(id, userId, since)),
  );
  if (conn.isClosed()) return;
  const kept = listed.map((id, i) => {
    const r = restored[i]!;
    if (typeof r === 'boolean') return r;
    // What this read reflects, no late copy of a change may undo (RestoredMember). Unless a
    // leave already revoked it here: this socket then no longer reflects that read, and the
    // re-join the read may have seen must still apply when its envelope comes.
    const cur = conn.cursors.get(id);
    if (cur !== undefined && !cur.revoked) cur.version = r.version;
    return r.member;
  });
  listed.forEach((id, i) => {
    if (kept[i]) return;
    conn.cursors.remove(id);
    registry.removeConversation(conn, id);
  });
  let ids = listed.filter((_, i) => kept[i]);

  // 6. Where every conversation stands (head, reads, unread, last message: one engine call per
  // conversation, pipelined), its metadata, and who is online.
  const [entries, meta] = await Promise.all([
    ctx.engine.inbox(userId, ids),
    loadMeta(ctx, userId, ids),
  ]);
  const memberLists = await Promise.all(ids.map((id) => membersOf(ctx, id)));
  const contacts = [...new Set(memberLists.flat())].filter((u) => u !== userId);
  const snapshot = await presence.snapshot(contacts);
  if (conn.isClosed()) return;

  // 7. Counted online, within the per-user socket cap.
  const { connections } = await presence.connected(userId, conn.id, ids);
  conn.presenceRegistered = true;
  if (conn.isClosed()) {
    await presence.disconnected(userId, conn.id, ids);
    return;
  }
  if (connections > ctx.config.maxSocketsPerUser) {
    ctx.logger.warn({ userId, connections }, 'parley: too many sockets for one user');
    conn.close(CloseCode.TooManyConnections, 'too many connections');
    return;
  }

  // 8. Welcome: conversations left meanwhile are not listed (their `left` is not sent either).
  ids = ids.filter((id) => conn.cursors.active(id));
  const rows = inboxRows(userId, ids, entries, meta);
  const byId = new Map(rows.map((r) => [r.id, r] as const));
  conn.send({
    type: 'welcome',
    protocol: PROTOCOL_VERSION,
    sessionId: conn.id,
    user: { id: userId, ...conn.profile },
    conversations: ids.map((id) => {
      const r = byId.get(id)!;
      return {
        id,
        seq: r.seq,
        epoch: r.epoch,
        readSeq: r.readSeq,
        reads: r.reads,
        unread: r.unread,
      };
    }),
    presence: snapshot,
    heartbeat: {
      intervalMs: ctx.config.heartbeatIntervalMs,
      timeoutMs: ctx.config.heartbeatTimeoutMs,
    },
    limits: {
      maxFrameBytes: ctx.config.maxFrameBytes,
      maxTextLength: Limits.MAX_TEXT_LENGTH,
      rate: { burst: ctx.config.rateBurst, perSecond: ctx.config.ratePerSecond },
      ...(ctx.engine.dedupeWindowMs === undefined
        ? {}
        : { dedupeWindowMs: ctx.engine.dedupeWindowMs }),
    },
    ...(expiresAt === undefined ? {} : { expiresAt }),
  });
  for (const id of ids) conn.cursors.get(id)!.announced = true;

  // 9. The inbox: last message and metadata of every conversation, newest activity first, in
  // chunks within the frame bound and the socket's budget (issue 16: a cold client used to
  // download every conversation's history before it could render anything). Still `starting`:
  // frames fanned out meanwhile (a `conversation` change newer than the metadata read above,
  // reads, events) are held and follow the inbox.
  for (const frame of summaryFrames(rows, ctx.config.maxOutboundFrameBytes)) {
    if (!(await roomFor(conn.outbound, frame, () => conn.isClosed()))) return;
    conn.outbound.send(frame);
  }
  conn.state = 'open';
  metric(ctx, {
    type: 'session.start',
    userId,
    conversations: ids.length,
    durationMs: Date.now() - conn.openedAt,
  });
  conn.outbound.flushEarly();
  conn.timers.sessionStarted();
  conn.timers.scheduleExpiry(false);

  // 10. Conversations without a cursor start at their head in `welcome`: nothing is replayed,
  // live messages after it flow now. The others get what their cursor says was missed, one at a
  // time (so at most one replay is built at once), then their held live messages.
  const cursors = hello.cursors ?? {};
  const resumed = ids.filter((id) => Object.hasOwn(cursors, id));
  for (const id of ids) {
    if (Object.hasOwn(cursors, id) || !conn.cursors.active(id)) continue;
    const r = byId.get(id)!;
    conn.cursors.release(id, r.seq, r.epoch);
  }
  for (const id of resumed) {
    if (conn.isClosed()) return;
    if (!conn.cursors.active(id)) continue;
    const r = byId.get(id)!;
    const head = await resume(conn, id, cursors[id]!, { seq: r.seq, epoch: r.epoch });
    conn.cursors.release(id, head.seq, head.epoch);
  }
  // 11. The session start is complete: every replay/reset the cursors asked for was sent
  // (PROTOCOL.md, `synced`; issue 19: a client could not tell when its resume was done).
  if (!conn.isClosed()) conn.send({ type: 'synced' });
}

/**
 * Waits until the socket's budget has room for `frame` while its send buffer drains (polling);
 * false once the connection closed (the session start deadline closes a socket that never
 * drains). When only what the hub holds is in the way, the send decides (1013 past the budget).
 */
async function roomFor(out: Outbound, frame: string, closed: () => boolean): Promise<boolean> {
  const bytes = frame.length; // at least the UTF-8 size of most frames; the send checks exactly
  while (!closed() && out.room() < bytes && out.buffered() > 0) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return !closed();
}
