/**
 * Session start (`hello` -> `welcome` -> replay/reset -> live), runtime joins, and the resume
 * logic shared by `hello` cursors and `sync` frames: a complete replay or a `reset`, never partial.
 */
import {
  CloseCode,
  type Cursor,
  ErrorCode,
  type HelloFrame,
  Limits,
  PROTOCOL_VERSION,
  Profile,
  UserId,
} from '@parley/protocol';
import type { Head } from '../engines/types.js';
import { ForbiddenError } from '../errors.js';
import type { Connection } from './connection.js';
import { callHook, HookError, type HubContext, metric } from './context.js';

/** Members of a conversation: the app's `membersOf` hook, else the engine's record. */
export async function membersOf(
  ctx: HubContext,
  conversationId: string,
): Promise<readonly string[]> {
  const hook = ctx.options.membersOf;
  if (hook !== undefined) return callHook('membersOf', () => hook(conversationId));
  return ctx.engine.members(conversationId);
}

export async function startSession(conn: Connection, hello: HelloFrame): Promise<void> {
  const { ctx, registry, presence } = conn.services;
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
  // Validated once here, so that every message this session sends carries a sender id and profile
  // that every client can decode (sends then only re-validate what a persist hook changed).
  const identity = identityProblem(userId, auth.profile);
  if (identity !== undefined) {
    ctx.logger.error(
      { userId, problem: identity },
      'parley: authenticate returned an invalid identity',
    );
    conn.close(CloseCode.InternalError, 'internal error');
    return;
  }

  // 2. Which conversations?
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

  // 3. Subscribe everything first, holding live messages back, so nothing falls between the
  // heads read below and the replay.
  conn.userId = userId;
  conn.profile = auth.profile;
  conn.expiresAt = auth.expiresAt;
  for (const id of conversationIds) conn.hold(id);
  try {
    await Promise.all([
      registry.addUser(conn, userId),
      ...conversationIds.map((id) => registry.addConversation(conn, id)),
      ...conversationIds.map((id) => ctx.engine.addMembers(id, [userId])),
    ]);
    if (conn.isClosed()) return;

    // 4. Welcome.
    const heads = await ctx.engine.heads(conversationIds);
    const reads = await Promise.all(conversationIds.map((id) => ctx.engine.reads(id)));
    const memberLists = await Promise.all(conversationIds.map((id) => membersOf(ctx, id)));
    const contacts = [...new Set(memberLists.flat())].filter((u) => u !== userId);
    const snapshot = await presence.snapshot(contacts);
    if (conn.isClosed()) return;
    await presence.connected(userId, conn.id, conversationIds);
    conn.presenceRegistered = true;
    if (conn.isClosed()) {
      await presence.disconnected(userId, conn.id, conversationIds);
      return;
    }
    conn.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      sessionId: conn.id,
      user: { id: userId, ...auth.profile },
      conversations: conversationIds.map((id, i) => {
        const head = heads.get(id)!;
        const { [userId]: readSeq = 0, ...others } = reads[i]!;
        return { id, seq: head.seq, epoch: head.epoch, readSeq, reads: others };
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
      ...(auth.expiresAt === undefined ? {} : { expiresAt: auth.expiresAt }),
    });
    conn.state = 'open';
    metric(ctx, {
      type: 'session.start',
      userId,
      conversations: conversationIds.length,
      durationMs: Date.now() - conn.openedAt,
    });
    conn.flushEarly();
    conn.startHeartbeat();
    conn.scheduleExpiry();

    // 5. Replay what the cursors say was missed, then release the held live messages.
    const cursors = hello.cursors ?? {};
    await Promise.all(
      conversationIds.map(async (id) => {
        const cursor = Object.hasOwn(cursors, id) ? cursors[id]! : { seq: 0 };
        const head = await resume(conn, id, cursor, heads.get(id)!, undefined);
        conn.release(id, head.seq, head.epoch);
      }),
    );
  } catch (err) {
    ctx.logger.error({ err, userId }, 'parley: session start failed');
    conn.close(
      CloseCode.InternalError,
      err instanceof HookError ? 'unavailable' : 'internal error',
    );
  }
}

/**
 * Answers a cursor with a `replay` (complete, in order) or a `reset`. Returns the head the client
 * is now covered up to. With `known` set and the cursor already at the head, sends nothing.
 */
export async function resume(
  conn: Connection,
  conversationId: string,
  cursor: Cursor,
  known: Head | undefined,
  ref: string | undefined,
): Promise<Head> {
  const { ctx } = conn.services;
  const r = ref === undefined ? {} : { ref };
  if (
    known !== undefined &&
    cursor.seq === known.seq &&
    (cursor.epoch ?? known.epoch) === known.epoch
  ) {
    return known;
  }
  const range = await ctx.engine.range(conversationId, cursor.seq, ctx.config.maxReplay);
  const { head } = range;
  const epochChanged =
    (cursor.epoch !== undefined && cursor.epoch !== head.epoch) || cursor.seq > head.seq;
  if (epochChanged || !range.complete) {
    const reason = epochChanged ? 'epoch_changed' : 'trimmed';
    conn.send({ type: 'reset', ...r, conversationId, epoch: head.epoch, seq: head.seq, reason });
    metric(ctx, { type: 'reset', conversationId, reason });
  } else {
    const frame = {
      type: 'replay' as const,
      ...r,
      conversationId,
      epoch: head.epoch,
      seq: head.seq,
      messages: range.messages,
    };
    conn.sendRaw(JSON.stringify(frame), false, true);
    metric(ctx, { type: 'replay', conversationId, messages: range.messages.length });
  }
  return head;
}

/** `hub.join` reached one of the user's sockets: subscribe, tell it where the conversation stands. */
export async function joinConversation(conn: Connection, conversationId: string): Promise<void> {
  const { ctx, registry } = conn.services;
  if (conn.convs.has(conversationId) || conn.state !== 'open') return;
  if (conn.convs.size >= ctx.config.maxConversationsPerUser) {
    ctx.logger.warn(
      { userId: conn.userId, conversationId },
      'parley: join over maxConversationsPerUser ignored',
    );
    conn.sendError({
      code: ErrorCode.Forbidden,
      message: 'too many conversations',
      conversationId,
    });
    return;
  }
  conn.hold(conversationId);
  await registry.addConversation(conn, conversationId);
  const head = (await ctx.engine.heads([conversationId])).get(conversationId)!;
  if (!conn.convs.has(conversationId)) {
    registry.removeConversation(conn, conversationId); // left meanwhile
    return;
  }
  conn.send({ type: 'joined', conversationId, seq: head.seq, epoch: head.epoch });
  conn.release(conversationId, head.seq, head.epoch);
}

/** Why `authenticate`'s user id or profile cannot go on the wire, or `undefined` when they can. */
function identityProblem(userId: string, profile: unknown): string | undefined {
  const id = UserId.safeParse(userId);
  if (!id.success) return `userId: ${id.error.issues[0]?.message ?? 'invalid'}`;
  if (profile === undefined) return undefined;
  const p = Profile.safeParse(profile);
  if (!p.success) return `profile.${p.error.issues[0]?.path.join('.') ?? ''}: invalid`;
  return undefined;
}
