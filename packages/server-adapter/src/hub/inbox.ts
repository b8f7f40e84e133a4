/**
 * The inbox (issue 16): where a user stands in every conversation — head, read position, unread
 * count, last countable message (current state) and the app's metadata — built from one engine
 * call per conversation and one `conversationMeta` call, never from history. Sent after `welcome`
 * as `summary` chunks and returned by `hub.conversationSummary`.
 */
import { ConversationMeta, type Message } from '@parley/protocol';
import type { InboxEntry } from '../engines/types.js';
import { utf8Bytes } from '../text.js';
import { callHookWithin, type HubContext, metric } from './context.js';

/** One conversation of a user's inbox (what `hub.conversationSummary` returns per conversation). */
export interface InboxRow {
  id: string;
  /** The conversation's head. */
  seq: number;
  epoch: string;
  /** The user's read position. */
  readSeq: number;
  /** Countable messages from others after `readSeq`, up to `seq`. */
  unread: number;
  /** Read positions of the other members, by user id. */
  reads: Record<string, number>;
  /** The last countable message (`user`/`system`) in its current state, if still stored. */
  lastMessage?: Message;
  /** From the `conversationMeta` hook, if any. */
  meta?: ConversationMeta;
}

/**
 * The app's metadata for `ids`: validated, an invalid entry dropped and logged. A failing hook
 * gives no metadata (logged, `hook.error` metric): the inbox still renders.
 */
export async function loadMeta(
  ctx: HubContext,
  userId: string,
  ids: readonly string[],
): Promise<Map<string, ConversationMeta>> {
  const out = new Map<string, ConversationMeta>();
  const hook = ctx.options.conversationMeta;
  if (hook === undefined || ids.length === 0) return out;
  let all: Record<string, ConversationMeta | undefined>;
  try {
    all = await callHookWithin(ctx, 'conversationMeta', () => hook(ids, { userId }));
  } catch (err) {
    metric(ctx, { type: 'hook.error', hook: 'conversationMeta' });
    ctx.logger.error({ err, userId }, 'parley: conversationMeta failed');
    return out;
  }
  if (typeof all !== 'object' || all === null) return out;
  for (const id of ids) {
    const meta = Object.hasOwn(all, id) ? all[id] : undefined;
    if (meta === undefined) continue;
    const parsed = ConversationMeta.safeParse(meta);
    if (parsed.success) out.set(id, parsed.data);
    else ctx.logger.error({ conversationId: id }, 'parley: conversationMeta returned invalid meta');
  }
  return out;
}

/** Rows from the engine's entries and the metadata, newest activity first. */
export function inboxRows(
  userId: string,
  ids: readonly string[],
  entries: ReadonlyMap<string, InboxEntry>,
  meta: ReadonlyMap<string, ConversationMeta>,
): InboxRow[] {
  const rows = ids.map((id): InboxRow => {
    const e = entries.get(id)!;
    const { [userId]: _own, ...reads } = e.reads;
    const m = meta.get(id);
    return {
      id,
      seq: e.head.seq,
      epoch: e.head.epoch,
      readSeq: e.readSeq,
      unread: e.unread,
      reads,
      ...(e.lastMessage === undefined ? {} : { lastMessage: e.lastMessage }),
      ...(m === undefined ? {} : { meta: m }),
    };
  });
  // Newest activity first; conversations without a message keep their listed order, last.
  const at = (r: InboxRow) => r.lastMessage?.createdAt ?? Number.NEGATIVE_INFINITY;
  return rows.sort((a, b) => at(b) - at(a));
}

/** The user's inbox rows for `ids` (one pipelined engine call, one metadata call). */
export async function loadInbox(
  ctx: HubContext,
  userId: string,
  ids: readonly string[],
): Promise<InboxRow[]> {
  const [entries, meta] = await Promise.all([
    ctx.engine.inbox(userId, ids),
    loadMeta(ctx, userId, ids),
  ]);
  return inboxRows(userId, ids, entries, meta);
}

/**
 * `summary` frames for `rows` (in their order), each at most `maxBytes` of UTF-8 (a single row
 * larger than that still goes out alone), `more: false` on the last. No rows: one empty frame.
 */
export function summaryFrames(rows: readonly InboxRow[], maxBytes: number): string[] {
  const open = '{"type":"summary","conversations":[';
  const close = (more: boolean) => `],"more":${more}}`;
  const overhead = open.length + close(false).length;
  const frames: string[] = [];
  let parts: string[] = [];
  let bytes = overhead;
  for (const r of rows) {
    const json = JSON.stringify({
      id: r.id,
      ...(r.lastMessage === undefined ? {} : { lastMessage: r.lastMessage }),
      ...(r.meta === undefined ? {} : { meta: r.meta }),
    });
    const size = utf8Bytes(json) + 1;
    if (parts.length > 0 && bytes + size > maxBytes) {
      frames.push(`${open}${parts.join(',')}${close(true)}`);
      parts = [];
      bytes = overhead;
    }
    parts.push(json);
    bytes += size;
  }
  frames.push(`${open}${parts.join(',')}${close(false)}`);
  return frames;
}
