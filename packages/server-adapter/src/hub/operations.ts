/**
 * `edit`, `delete` and `react`: operations on a stored message, answered like a send (PROTOCOL.md,
 * "Message lifecycle"). Same path as a send: membership, the idempotency lease (a retry gets the
 * same ack, hooks run once), the app's hooks, then the engine stores the operation with its own
 * seq and updates the target in one atomic step; the ack goes out at the operation's place in
 * the stream. Also the `replyTo` check of a send.
 */
import { type ClientFrame, ErrorCode, type Message } from '@parley/protocol';
import { applyToTarget, canOperateOn, isCountable } from '../engines/operations.js';
import type { MessageDraft } from '../engines/types.js';
import { ForbiddenError, HubUsageError, MessageRejectedError } from '../errors.js';
import type { Connection } from './connection.js';
import {
  callHook,
  callHookWithin,
  HookError,
  HookTimeoutError,
  type HubContext,
  invalidMessage,
  metric,
  withDeadline,
} from './context.js';
import { allowed, persistTimedOut, refOf, withSendLease } from './handlers.js';
import type { PersistResult } from './options.js';
import { notifyStored } from './reads.js';

type OperationFrame = Extract<ClientFrame, { type: 'edit' | 'delete' | 'react' }>;

const KIND = { edit: 'edit', delete: 'delete', react: 'reaction' } as const;

export async function onOperation(conn: Connection, f: OperationFrame): Promise<void> {
  const started = Date.now();
  const extra = { ...refOf(f.ref), clientMsgId: f.clientMsgId };
  if (!(await allowed(conn, f.conversationId, extra))) return;
  await withSendLease(conn, f, 'operation', () => storeOperation(conn, f, started));
}

/** Checks, hooks and the engine for a claimed operation. Returns whether it was stored. */
async function storeOperation(
  conn: Connection,
  f: OperationFrame,
  started: number,
): Promise<boolean> {
  const { ctx } = conn;
  const userId = conn.userId!;
  const refuse = (code: ErrorCode, message: string): false => {
    conn.sendError({
      code,
      message: message.slice(0, 200),
      conversationId: f.conversationId,
      ...refOf(f.ref),
      clientMsgId: f.clientMsgId,
    });
    return false;
  };
  const target = await engineCall('engine.message', () =>
    ctx.engine.message(f.conversationId, f.target),
  );
  if (!canOperateOn(target)) return refuse(ErrorCode.NotFound, 'no such message');
  // Identity from the session only; nothing but the operation's own fields is read.
  const draft: MessageDraft = {
    id: globalThis.crypto.randomUUID(),
    conversationId: f.conversationId,
    clientMsgId: f.clientMsgId,
    senderId: userId,
    ...(conn.profile === undefined ? {} : { sender: conn.profile }),
    kind: KIND[f.type],
    text: f.type === 'edit' ? f.text : '',
    ...(f.type === 'edit' && f.data !== undefined ? { data: f.data } : {}),
    createdAt: Date.now(),
    target: f.target,
    ...(f.type === 'react' ? { reaction: { emoji: f.emoji, on: f.on } } : {}),
  };
  const maxTargetBytes = ctx.config.maxMessageBytes;
  const early = applyToTarget(
    target,
    { ...draft, seq: Number.MAX_SAFE_INTEGER },
    { maxBytes: maxTargetBytes },
  );
  if (early === 'too_many_reactions' || early === 'too_large') {
    return refuse(ErrorCode.Rejected, REFUSALS[early]);
  }
  let changes: PersistResult | undefined;
  try {
    const allow = ctx.options.authorizeOperation;
    const verdict =
      allow === undefined
        ? undefined
        : await callHookWithin(
            ctx,
            'authorizeOperation',
            () => allow({ operation: { ...draft }, target }),
            refusal,
          );
    if (!(verdict ?? defaultRule(draft, target))) {
      return refuse(ErrorCode.Forbidden, 'not allowed to change this message');
    }
    const persist = ctx.options.persistOperation;
    if (persist !== undefined) {
      changes = await callHook(
        'persistOperation',
        () =>
          withDeadline(
            persist({ operation: { ...draft }, target }),
            ctx.config.persistTimeoutMs,
            'persistOperation',
          ),
        (e) => refusal(e) || e instanceof HookTimeoutError,
      );
    }
  } catch (err) {
    if (err instanceof HookTimeoutError) {
      persistTimedOut(conn, f, 'operation', err);
      return false;
    }
    if (err instanceof ForbiddenError) return refuse(ErrorCode.Forbidden, err.message);
    if (!(err instanceof MessageRejectedError)) throw err;
    return refuse(ErrorCode.Rejected, err.message);
  }
  if (changes) {
    if (typeof changes.id === 'string' && changes.id !== '') draft.id = changes.id;
    if (draft.kind === 'edit' && typeof changes.text === 'string') draft.text = changes.text;
    if (draft.kind === 'edit' && changes.data !== undefined) draft.data = changes.data;
    const problem = invalidMessage(draft, ctx.config.maxMessageBytes);
    if (problem !== undefined) {
      ctx.logger.error(
        { problem, conversationId: f.conversationId },
        'parley: persistOperation returned an invalid operation',
      );
      return refuse(ErrorCode.Rejected, `the stored operation would be invalid: ${problem}`);
    }
  }
  conn.cursors.expectAck(f.conversationId, f.clientMsgId, f.ref);
  let result: Awaited<ReturnType<typeof ctx.engine.applyOperation>>;
  try {
    result = await ctx.engine.applyOperation({ draft, origin: conn.id, maxTargetBytes });
  } catch (err) {
    conn.cursors.forgetAck(f.conversationId, f.clientMsgId);
    throw new HookError('engine.applyOperation', err);
  }
  if (result.state !== 'stored' && result.state !== 'duplicate') {
    // The target changed since it was read (deleted, trimmed, or other reactions came first).
    conn.cursors.forgetAck(f.conversationId, f.clientMsgId);
    return result.state === 'not_found'
      ? refuse(ErrorCode.NotFound, 'no such message')
      : refuse(ErrorCode.Rejected, REFUSALS[result.state]);
  }
  const duplicate = result.state === 'duplicate';
  // As for a send: the ack goes out at the operation's place in the stream, or now.
  conn.cursors.stored(result.message, duplicate);
  if (!duplicate) {
    ctx.counters.messagesStored++;
    metric(ctx, {
      type: 'message.stored',
      conversationId: f.conversationId,
      kind: draft.kind,
      durationMs: Date.now() - started,
    }); // The app learns the operation's seq too (it is a stored message of kind edit/delete/reaction).
    notifyStored(ctx, result.message, conn.id);
  }
  return true;
}

/** What a hook throws to refuse an operation: `rejected` with its reason, or `forbidden`. */
const refusal = (e: unknown): boolean =>
  e instanceof MessageRejectedError || e instanceof ForbiddenError;

/** The `rejected` reasons of the engine's refusals. */
const REFUSALS = {
  too_many_reactions: 'this message has the most distinct reactions allowed',
  too_large: 'this message would be too large',
} as const;

/** Without an `authorizeOperation` verdict: authors edit and delete, every member reacts. */
const defaultRule = (op: MessageDraft, target: Message): boolean =>
  op.kind === 'reaction' || target.senderId === op.senderId;

async function engineCall<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new HookError(name, err);
  }
}

/**
 * `replyTo` of a send: the seq of a countable message the conversation's history holds. Answers
 * `not_found` and returns false otherwise.
 */
export async function replyTargetOk(
  conn: Connection,
  f: Extract<ClientFrame, { type: 'send' }>,
): Promise<boolean> {
  if (f.replyTo === undefined) return true;
  const target = await engineCall('engine.message', () =>
    conn.ctx.engine.message(f.conversationId, f.replyTo!),
  );
  if (target !== undefined && isCountable(target)) return true;
  conn.sendError({
    code: ErrorCode.NotFound,
    message: 'no such message to reply to',
    conversationId: f.conversationId,
    ...refOf(f.ref),
    clientMsgId: f.clientMsgId,
  });
  return false;
}

/** What `hub.editMessage` / `hub.deleteMessage` take besides the target. */
export interface ServerOperationInput {
  /** Who the operation is stored as. @default options.systemUserId ('system') */
  senderId?: string;
  /** Idempotency key. @default a random id */
  clientMsgId?: string;
}

/**
 * An edit or delete by server code (moderation, bots): no `authorizeOperation` or
 * `persistOperation` (the caller is the app), else stored and fanned out like a client's.
 * Rejects with `HubUsageError` for a target that is not a held countable message, or an invalid
 * edit.
 */
export async function serverOperation(
  ctx: HubContext,
  conversationId: string,
  target: number,
  op: { kind: 'edit'; text: string; data?: Message['data'] } | { kind: 'delete' },
  input: ServerOperationInput,
): Promise<{ message: Message; duplicate: boolean }> {
  if (typeof conversationId !== 'string' || conversationId === '')
    throw new HubUsageError('conversationId is required');
  if (!Number.isInteger(target) || target < 1) throw new HubUsageError('target must be a seq >= 1');
  const draft: MessageDraft = {
    id: globalThis.crypto.randomUUID(),
    conversationId,
    clientMsgId: input.clientMsgId ?? `srv-${globalThis.crypto.randomUUID()}`,
    senderId: input.senderId ?? ctx.config.systemUserId,
    kind: op.kind,
    text: op.kind === 'edit' ? op.text : '',
    ...(op.kind === 'edit' && op.data !== undefined ? { data: op.data } : {}),
    createdAt: Date.now(),
    target,
  };
  const problem = invalidMessage(draft, ctx.config.maxMessageBytes);
  if (problem !== undefined) throw new HubUsageError(problem);
  const result = await ctx.engine.applyOperation({
    draft,
    maxTargetBytes: ctx.config.maxMessageBytes,
  });
  if (result.state === 'too_large') throw new HubUsageError(REFUSALS.too_large);
  if (result.state !== 'stored' && result.state !== 'duplicate') {
    throw new HubUsageError(`no message ${target} to change in ${conversationId}`);
  }
  const duplicate = result.state === 'duplicate';
  if (!duplicate) {
    ctx.counters.messagesStored++;
    metric(ctx, {
      type: 'message.stored',
      conversationId,
      kind: draft.kind,
      durationMs: Date.now() - draft.createdAt,
    });
    notifyStored(ctx, result.message);
  }
  return { message: result.message, duplicate };
}
