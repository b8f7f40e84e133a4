/**
 * Handlers of every frame after `hello`. Each checks membership first (a `forbidden` error
 * correlated by `ref`, nothing delivered), then does its one job. Hook failures become
 * `unavailable`; anything unexpected becomes `internal` (and is logged).
 */
import { type ClientFrame, ErrorCode, type Message, validateEvent } from '@parley/protocol';
import type { MessageDraft } from '../engines/types.js';
import { MessageRejectedError, UnavailableError } from '../errors.js';
import type { Connection, QueuedRead } from './connection.js';
import {
  callHook,
  callHookWithin,
  HookError,
  HookTimeoutError,
  identityProblem,
  invalidMessage,
  metric,
  withDeadline,
} from './context.js';
import { onOperation, replyTargetOk } from './operations.js';
import { notifyStored } from './reads.js';
import { historyFrame, resume } from './replay.js';
import { membersOf } from './session.js';

/**
 * A send holds its idempotency key's lease for `persistTimeoutMs` plus this margin (for `append`):
 * a retry arriving meanwhile (on any socket or process) is answered `unavailable` with the lease's
 * remaining time (at least {@link BUSY_RETRY_MS}), then finds the stored message — or, when the
 * process holding the lease died, takes the lease over.
 */
export const SEND_LEASE_MARGIN_MS = 5_000;
/** Least `retryAfterMs` of the `unavailable` answer to a retry whose first attempt still runs. */
export const BUSY_RETRY_MS = 1_000;

type Frame<T extends ClientFrame['type']> = Extract<ClientFrame, { type: T }>;

export async function handleFrame(conn: Connection, frame: ClientFrame): Promise<void> {
  const ref = 'ref' in frame ? frame.ref : undefined;
  try {
    switch (frame.type) {
      case 'send':
        return await onSend(conn, frame);
      case 'edit':
      case 'delete':
      case 'react':
        return await onOperation(conn, frame);
      case 'typing':
        return await onTyping(conn, frame);
      case 'read':
        return await onRead(conn, frame);
      case 'sync':
        return await onSync(conn, frame);
      case 'history':
        return await onHistory(conn, frame);
      case 'event':
        return await onEvent(conn, frame);
      case 'auth':
        return await onAuth(conn, frame);
      default:
        return;
    }
  } catch (err) {
    const conversationId = 'conversationId' in frame ? frame.conversationId : undefined;
    const extra = {
      ...(ref === undefined ? {} : { ref }),
      ...(conversationId === undefined ? {} : { conversationId }),
      ...('clientMsgId' in frame ? { clientMsgId: frame.clientMsgId } : {}),
    };
    if (err instanceof HookError) {
      metric(conn.ctx, { type: 'hook.error', hook: err.hook });
      conn.ctx.logger.error(
        { err: err.cause, hook: err.hook, userId: conn.userId },
        'parley: hook failed',
      );
      const retryAfterMs =
        err.cause instanceof UnavailableError ? err.cause.retryAfterMs : undefined;
      conn.sendError({
        code: ErrorCode.Unavailable,
        message: 'temporarily unavailable',
        ...(retryAfterMs === undefined
          ? {}
          : { retryAfterMs: Math.max(0, Math.round(retryAfterMs)) }),
        ...extra,
      });
    } else {
      conn.ctx.logger.error(
        { err, userId: conn.userId, frame: frame.type },
        'parley: frame failed',
      );
      conn.sendError({ code: ErrorCode.Internal, message: 'internal error', ...extra });
    }
  }
}

/**
 * Membership check for a conversation frame; answers `forbidden` and returns false if not.
 * Synchronous without an `isMember` hook (issue 15: no promise per frame on the common path).
 */
export function allowed(
  conn: Connection,
  conversationId: string,
  about: RefusalFields,
): boolean | Promise<boolean> {
  const hook = conn.ctx.options.isMember;
  // A conversation the user left is refused at once, whatever the hook says (issue 13).
  if (conn.cursors.get(conversationId)?.revoked === true)
    return refuse(conn, conversationId, about);
  if (hook === undefined) {
    return conn.cursors.active(conversationId) || refuse(conn, conversationId, about);
  }
  return callHookWithin(conn.ctx, 'isMember', () => hook(conn.userId!, conversationId)).then(
    (ok) => ok || refuse(conn, conversationId, about),
  );
}

/**
 * What a refusal echoes of the frame it answers: its `ref` and `clientMsgId`, when it has them.
 * The frame itself can be passed (only these two fields are read), so the common path where
 * nothing is refused builds no object (issue 15).
 */
export interface RefusalFields {
  ref?: string | undefined;
  clientMsgId?: string | undefined;
}

function refuse(conn: Connection, conversationId: string, about: RefusalFields): false {
  conn.sendError({
    code: ErrorCode.Forbidden,
    message: 'not a member of this conversation',
    conversationId,
    ...refOf(about.ref),
    ...(about.clientMsgId === undefined ? {} : { clientMsgId: about.clientMsgId }),
  });
  return false;
}

export const refOf = (ref: string | undefined) => (ref === undefined ? {} : { ref });

/**
 * An app `persist` hook passed its deadline: logged, and the send (or operation) answered
 * `unavailable` with a retry delay; its lease is dropped by the caller, so the retry runs again.
 */
export function persistTimedOut(
  conn: Connection,
  f: { conversationId: string; clientMsgId: string; ref?: string | undefined },
  what: 'message' | 'operation',
  err: HookTimeoutError,
): void {
  conn.ctx.logger.error({ conversationId: f.conversationId }, `parley: ${err.message}`);
  conn.sendError({
    code: ErrorCode.Unavailable,
    message: `storing the ${what} took too long; retry`,
    retryAfterMs: BUSY_RETRY_MS,
    conversationId: f.conversationId,
    ...answerTo(f),
  });
}

/** The fields an error echoes of the send it answers; built only when answering (issue 15). */
const answerTo = (f: { ref?: string | undefined; clientMsgId: string }) => ({
  ...refOf(f.ref),
  clientMsgId: f.clientMsgId,
});

async function onSend(conn: Connection, f: Frame<'send'>): Promise<void> {
  const started = Date.now();
  const ok = allowed(conn, f.conversationId, f);
  if (ok === false || (ok !== true && !(await ok))) return;
  // The lease makes the app's `persist` hook run once per message, and answers a retry whose
  // reply target is gone with its first attempt's ack. Without either, `append` alone dedupes
  // atomically: no engine round trip before it (issue 15).
  if (conn.ctx.options.persist === undefined && f.replyTo === undefined) {
    await store(conn, f, started, false);
    return;
  }
  await withSendLease(conn, f, 'message', () => store(conn, f, started, true));
}

/**
 * Runs `work` (the app's hook, then the engine) under the idempotency lease of `f.clientMsgId`:
 * a retry the engine still remembers gets the same ack (no hook, no broadcast); a retry whose
 * first attempt still runs (on any socket or process) gets `unavailable` with the lease's time
 * left. `work` returns whether it stored; if not, the lease is dropped. Shared by sends and
 * operations (`edit`, `delete`, `react`).
 */
export async function withSendLease(
  conn: Connection,
  f: { conversationId: string; clientMsgId: string; ref?: string | undefined },
  what: 'message' | 'operation',
  work: () => Promise<boolean>,
): Promise<void> {
  const { ctx } = conn;
  const userId = conn.userId!;
  const claim = await ctx.engine.claimSend(
    f.conversationId,
    userId,
    f.clientMsgId,
    ctx.config.persistTimeoutMs + SEND_LEASE_MARGIN_MS,
  );
  if (claim.state === 'stored') {
    conn.send({
      type: 'ack',
      ...refOf(f.ref),
      clientMsgId: f.clientMsgId,
      message: claim.message,
      duplicate: true,
    });
    return;
  }
  if (claim.state === 'busy') {
    conn.sendError({
      code: ErrorCode.Unavailable,
      message: `this ${what} is still being stored`,
      retryAfterMs: Math.max(BUSY_RETRY_MS, Math.ceil(claim.leaseMs)),
      conversationId: f.conversationId,
      ...refOf(f.ref),
      clientMsgId: f.clientMsgId,
    });
    return;
  }
  let stored = false;
  try {
    stored = await work();
  } finally {
    if (!stored) {
      await ctx.engine
        .releaseSend(f.conversationId, userId, f.clientMsgId)
        .catch((err: unknown) => ctx.logger.warn({ err }, 'parley: releasing a lease failed'));
    }
  }
}

/**
 * Runs `persist` and `append` for a send (`leased`: under a lease from `withSendLease`). Returns
 * whether it reached `append`.
 */
async function store(
  conn: Connection,
  f: Frame<'send'>,
  started: number,
  leased: boolean,
): Promise<boolean> {
  const { ctx } = conn;
  const userId = conn.userId!;
  if (f.replyTo !== undefined && !(await replyTargetOk(conn, f))) return false;
  // Identity comes from the session only; nothing but conversationId/clientMsgId/text/data/replyTo
  // is read.
  // Built field by field (the wire order), not with `...(x ? {} : { x })`: an empty spread per
  // absent field is a runtime call on the hot path (issue 15).
  const draft = {
    id: globalThis.crypto.randomUUID(),
    conversationId: f.conversationId,
    clientMsgId: f.clientMsgId,
    senderId: userId,
  } as MessageDraft;
  if (conn.profile !== undefined) draft.sender = conn.profile;
  draft.kind = 'user';
  draft.text = f.text;
  if (f.data !== undefined) draft.data = f.data;
  draft.createdAt = Date.now();
  if (f.replyTo !== undefined) draft.replyTo = f.replyTo;
  const persist = ctx.options.persist;
  let changes: Awaited<ReturnType<NonNullable<typeof persist>>>;
  if (persist !== undefined) {
    try {
      changes = await callHook(
        'persist',
        () => withDeadline(persist({ ...draft }), ctx.config.persistTimeoutMs, 'persist'),
        (e) => e instanceof MessageRejectedError || e instanceof HookTimeoutError,
      );
    } catch (err) {
      if (err instanceof HookTimeoutError) {
        persistTimedOut(conn, f, 'message', err);
        return false;
      }
      if (!(err instanceof MessageRejectedError)) throw err;
      conn.sendError({
        code: ErrorCode.Rejected,
        message: err.message.slice(0, 200),
        conversationId: f.conversationId,
        ...answerTo(f),
      });
      return false;
    }
    if (changes) {
      if (typeof changes.id === 'string' && changes.id !== '') draft.id = changes.id;
      if (typeof changes.text === 'string') draft.text = changes.text;
      if (changes.data !== undefined) draft.data = changes.data;
    }
  }
  // Everything else in the draft was validated already (the frame on decode, the identity at
  // session start): only what a persist hook changed needs checking, off the common path.
  const problem = changes ? invalidMessage(draft, ctx.config.maxMessageBytes) : undefined;
  if (problem !== undefined) {
    // The app's hook made the message invalid: a typed refusal the client does not retry (an
    // `internal` error would be retried forever, issue 13).
    ctx.logger.error(
      { problem, conversationId: f.conversationId },
      'parley: persist returned an invalid message',
    );
    conn.sendError({
      code: ErrorCode.Rejected,
      message: `the stored message would be invalid: ${problem}`.slice(0, 200),
      conversationId: f.conversationId,
      ...answerTo(f),
    });
    return false;
  }
  conn.cursors.expectAck(f.conversationId, f.clientMsgId, f.ref);
  let result: Awaited<ReturnType<typeof ctx.engine.append>>;
  try {
    result = await ctx.engine.append({ draft, origin: conn.id, leased });
  } catch (err) {
    conn.cursors.forgetAck(f.conversationId, f.clientMsgId);
    throw new HookError('engine.append', err);
  }
  // The ack goes out at the message's place in the stream when the fan-out reaches a subscribed
  // cursor (or when the socket forgets the conversation first); a duplicate, or a conversation
  // this socket is not subscribed to, is answered now.
  conn.cursors.stored(result.message, result.duplicate);
  if (!result.duplicate) {
    ctx.counters.messagesStored++;
    if (ctx.options.metrics !== undefined)
      metric(ctx, {
        type: 'message.stored',
        conversationId: f.conversationId,
        kind: 'user',
        durationMs: Date.now() - started,
      });
    notifyOffline(conn.services.ctx, result.message);
    notifyStored(ctx, result.message, conn.id);
  }
  return true;
}

/** Reports members without a live socket to the app (best effort, never blocks the sender). */
export function notifyOffline(ctx: Connection['services']['ctx'], message: Message): void {
  const hook = ctx.options.onOfflineRecipients;
  // No promise per message when no hook is set (issue 15).
  if (hook !== undefined) void reportOffline(ctx, hook, message);
}

async function reportOffline(
  ctx: Connection['services']['ctx'],
  hook: NonNullable<Connection['services']['ctx']['options']['onOfflineRecipients']>,
  message: Message,
): Promise<void> {
  try {
    const members = (await membersOf(ctx, message.conversationId)).filter(
      (u) => u !== message.senderId,
    );
    if (members.length === 0) return;
    const live = await ctx.engine.connectedUsers(members);
    const userIds = members.filter((u) => !live.has(u));
    if (userIds.length === 0) return;
    await hook({ conversationId: message.conversationId, message, userIds });
  } catch (err) {
    ctx.logger.error(
      { err, conversationId: message.conversationId },
      'parley: onOfflineRecipients failed',
    );
  }
}

async function onTyping(conn: Connection, f: Frame<'typing'>): Promise<void> {
  const ok = allowed(conn, f.conversationId, {});
  if (ok === false || (ok !== true && !(await ok))) return;
  await conn.ctx.engine.publish(`conv:${f.conversationId}`, {
    kind: 'typing',
    conversationId: f.conversationId,
    userId: conn.userId!,
    state: f.state,
  });
}

async function onRead(conn: Connection, f: Frame<'read'>): Promise<void> {
  const { ctx } = conn;
  const userId = conn.userId!;
  // `f.seq` holds the newest seq of the reads of this conversation that arrived while this one
  // waited (they queued no task of their own: Connection.enqueueRead). From here on, a read
  // queues its own task.
  conn.readStarted(f);
  const newest = f.seq;
  if (!(await allowed(conn, f.conversationId, f))) {
    // The reads folded into this one are refused with it: each ref gets its answer.
    for (const ref of (f as QueuedRead).folded ?? []) refuse(conn, f.conversationId, { ref });
    return;
  }
  const head = (await ctx.engine.heads([f.conversationId])).get(f.conversationId)!;
  const seq = Math.min(newest, head.seq);
  if (seq < 1) return;
  const hook = ctx.options.onRead;
  if (hook !== undefined) {
    // The app hears first: when its hook fails nothing is recorded, so the client's retry of the
    // same read still reaches the app (recording first would make the retry "not advanced").
    const current = (await ctx.engine.reads(f.conversationId))[userId] ?? 0;
    if (seq <= current) return;
    await callHookWithin(ctx, 'onRead', () =>
      hook({ conversationId: f.conversationId, userId, seq }),
    );
  }
  const { advanced } = await ctx.engine.setRead(f.conversationId, userId, seq);
  if (!advanced) return; // monotonic: a lower or equal seq is ignored
  const read = { kind: 'read', conversationId: f.conversationId, userId, seq } as const;
  // The reader's other sockets get the count after this read (issue 16), counted atomically with
  // the head it goes up to: a message stored meanwhile is either in it or after `at`.
  const u = await ctx.engine.unread(f.conversationId, userId);
  await Promise.all([
    ctx.engine.publish(`conv:${f.conversationId}`, read),
    ctx.engine.publish(`user:${userId}`, {
      ...read,
      seq: Math.max(seq, u.readSeq),
      origin: conn.id,
      unread: { count: u.count, at: u.at },
    }),
  ]);
}

async function onSync(conn: Connection, f: Frame<'sync'>): Promise<void> {
  if (!(await allowed(conn, f.conversationId, refOf(f.ref)))) return;
  await resume(
    conn,
    f.conversationId,
    { seq: f.after, ...(f.epoch === undefined ? {} : { epoch: f.epoch }) },
    undefined,
    f.ref,
    true,
  );
}

async function onHistory(conn: Connection, f: Frame<'history'>): Promise<void> {
  if (!(await allowed(conn, f.conversationId, refOf(f.ref)))) return;
  const page = await conn.ctx.engine.page(
    f.conversationId,
    f.before,
    f.limit ?? conn.ctx.config.historyPageSize,
  );
  if (conn.cursors.get(f.conversationId)?.revoked) return; // left while the page was read
  conn.outbound.send(
    historyFrame(conn, f.conversationId, page.json ?? page.messages, page.hasMore, f.ref),
  );
}

async function onEvent(conn: Connection, f: Frame<'event'>): Promise<void> {
  const { ctx } = conn;
  const userId = conn.userId!;
  const extra = {
    ...refOf(f.ref),
    ...(f.conversationId === undefined ? {} : { conversationId: f.conversationId }),
  };
  const schemas = ctx.options.events ?? {};
  const v = await validateEvent(schemas, f.name, f.payload);
  if (!v.ok) {
    conn.sendError({ code: v.code, message: v.message, field: v.field, ...extra });
    return;
  }
  const conversationId = f.conversationId;
  if (conversationId !== undefined) {
    if (!(await allowed(conn, conversationId, extra))) return;
    await ctx.engine.publish(`conv:${conversationId}`, {
      kind: 'event',
      name: f.name,
      from: userId,
      payload: v.value,
      conversationId,
      exceptUserId: userId,
    });
    if (f.ref !== undefined) conn.send({ type: 'ok', ref: f.ref });
    return;
  }
  // To one user: only someone who shares a conversation with the sender.
  const to = f.userId!;
  const shared = await sharesConversation(conn, to);
  if (!shared) {
    conn.sendError({
      code: ErrorCode.Forbidden,
      message: 'no shared conversation with this user',
      ...extra,
    });
    return;
  }
  await ctx.engine.publish(`user:${to}`, {
    kind: 'event',
    name: f.name,
    from: userId,
    payload: v.value,
  });
  if (f.ref !== undefined) conn.send({ type: 'ok', ref: f.ref });
}

async function sharesConversation(conn: Connection, other: string): Promise<boolean> {
  if (other === conn.userId) return true;
  for (const id of conn.cursors.activeIds()) {
    if ((await membersOf(conn.ctx, id)).includes(other)) return true;
  }
  return false;
}

async function onAuth(conn: Connection, f: Frame<'auth'>): Promise<void> {
  const { ctx } = conn;
  let auth: Awaited<ReturnType<typeof ctx.options.authenticate>>;
  try {
    auth = await ctx.options.authenticate({
      token: f.token,
      request: conn.request,
      reason: 'refresh',
    });
  } catch (err) {
    ctx.logger.warn({ err, userId: conn.userId }, 'parley: token refresh failed');
    auth = null;
  }
  const fresh =
    auth !== null && auth.userId === conn.userId && (auth.expiresAt ?? Infinity) > Date.now();
  if (!fresh) {
    // The session keeps running until its current credential expires.
    conn.sendError({ code: ErrorCode.Unauthenticated, message: 'token refused', ...refOf(f.ref) });
    return;
  }
  // A refreshed profile is validated like the one at `hello` (issue 13): an invalid one is the
  // app's bug; the session keeps its current identity and credential until they expire.
  const identity = auth!.profile === undefined ? {} : identityProblem(conn.userId!, auth!.profile);
  if (identity.problem !== undefined) {
    ctx.logger.error(
      { userId: conn.userId, problem: identity.problem },
      'parley: authenticate returned an invalid identity on refresh',
    );
    conn.sendError({ code: ErrorCode.Internal, message: 'internal error', ...refOf(f.ref) });
    return;
  }
  conn.expiresAt = auth!.expiresAt;
  if (identity.profile !== undefined) conn.profile = identity.profile;
  conn.timers.scheduleExpiry(true);
  conn.send({
    type: 'authed',
    ...refOf(f.ref),
    ...(conn.expiresAt === undefined ? {} : { expiresAt: conn.expiresAt }),
  });
}
