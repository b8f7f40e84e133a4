/**
 * Server-side reads and metadata for apps (issue 16, part 3): `hub.history`,
 * `hub.conversationSummary`, `hub.updateConversation`, and the `onStored` hook. No socket is
 * involved: the app's backend reads what a client would see.
 */
import { ConversationId, ConversationMeta, Limits, type Message } from '@parley/protocol';
import { HubUsageError } from '../errors.js';
import type { HubContext } from './context.js';
import { type InboxRow, loadInbox } from './inbox.js';

/** Query of `hub.history`. */
export interface HistoryQuery {
  /** Only messages with a seq below this (exclusive). */
  before?: number;
  /**
   * Only messages with a seq above this (exclusive): the page is then the OLDEST `limit` of them
   * (paging forward; when the history was trimmed past `after`, the oldest ones it still holds);
   * without it, the NEWEST `limit` (paging back).
   */
  after?: number;
  /** At most this many messages, 1-200. @default `limits.historyPageSize` (50) */
  limit?: number;
}

/** Result of `hub.history`: messages in ascending seq order. */
export interface HistoryPage {
  messages: Message[];
  /**
   * More messages match the query beyond this page: older ones when paging back, newer ones (up
   * to `before` or the head) when paging forward with `after`.
   */
  hasMore: boolean;
}

const seqParam = (name: string, v: unknown, min: number): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new HubUsageError(`${name} must be an integer >= ${min}`);
  return v;
};

const conversationIdOf = (conversationId: unknown): string => {
  if (!ConversationId.safeParse(conversationId).success)
    throw new HubUsageError('conversationId must be 1-128 characters');
  return conversationId as string;
};

/** `hub.history`: a page of stored messages (their current state), by seq. */
export async function history(
  ctx: HubContext,
  conversationId: string,
  query: HistoryQuery = {},
): Promise<HistoryPage> {
  const id = conversationIdOf(conversationId);
  const before = seqParam('before', query.before, 1);
  const after = seqParam('after', query.after, 0);
  const limit = seqParam('limit', query.limit, 1) ?? ctx.config.historyPageSize;
  if (limit > Limits.MAX_HISTORY_PAGE)
    throw new HubUsageError(`limit must be at most ${Limits.MAX_HISTORY_PAGE}`);
  if (after === undefined) {
    // The app gets the messages alone (not an engine's `json` beside them).
    const { messages, hasMore } = await ctx.engine.page(id, before, limit);
    return { messages, hasMore };
  }
  // Forward: seqs are dense, so the `limit` seqs after `after` are a page that ends below
  // `after + limit + 1` (or `before`). Trimmed seqs are simply absent.
  const upper = before ?? Number.POSITIVE_INFINITY;
  const end = Math.min(upper, after + limit + 1);
  if (end <= after + 1) return { messages: [], hasMore: false };
  const [page, heads] = await Promise.all([
    ctx.engine.page(id, end, limit),
    ctx.engine.heads([id]),
  ]);
  const head = heads.get(id)!.seq;
  const messages = page.messages.filter((m) => m.seq > after);
  const hasMore = end < upper && head >= end;
  if (messages.length > 0 || !hasMore) return { messages, hasMore };
  // Nothing stored in (after, end): the history was trimmed past `after`. Page from the oldest
  // stored seq instead (a binary search on `before`, only on this path).
  const top = Math.min(upper - 1, head) + 1;
  const storedBelow = async (b: number) =>
    (await ctx.engine.page(id, b, 1)).messages.some((m) => m.seq >= end);
  if (!(await storedBelow(top))) return { messages: [], hasMore: false };
  let lo = end + 1;
  let hi = top;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await storedBelow(mid)) hi = mid;
    else lo = mid + 1;
  }
  return history(ctx, id, { ...query, after: lo - 2 });
}

/** `hub.conversationSummary`: the user's inbox, newest activity first. */
export async function conversationSummary(ctx: HubContext, userId: string): Promise<InboxRow[]> {
  if (typeof userId !== 'string' || userId === '') throw new HubUsageError('userId is required');
  const ids = [...new Set(await ctx.options.conversationsOf(userId))];
  return loadInbox(ctx, userId, ids);
}

/** `hub.updateConversation`: validates the metadata and fans a `conversation` frame out. */
export async function updateConversation(
  ctx: HubContext,
  conversationId: string,
  meta: ConversationMeta,
): Promise<void> {
  const id = conversationIdOf(conversationId);
  const parsed = ConversationMeta.safeParse(meta);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new HubUsageError(`meta.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  await ctx.engine.publish(`conv:${id}`, {
    kind: 'conversation',
    conversationId: id,
    meta: parsed.data,
  });
}

/**
 * Tells the app a message was stored (the `onStored` hook), after the fan-out started; never
 * delays the caller, and what the hook throws is logged.
 */
export function notifyStored(ctx: HubContext, message: Message, connectionId?: string): void {
  const hook = ctx.options.onStored;
  if (hook === undefined) return;
  void (async () => {
    try {
      await hook(connectionId === undefined ? { message } : { message, connectionId });
    } catch (err) {
      ctx.logger.error({ err, conversationId: message.conversationId }, 'parley: onStored failed');
    }
  })();
}
