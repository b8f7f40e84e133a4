/**
 * Frames built from stored history — `replay`/`reset` (hello cursors, `sync`, runtime joins) and
 * `history` pages — each at most `limits.maxOutboundFrameBytes` (UTF-8) and sent within the
 * connection's byte budget. A replay is all or nothing: one that would be larger is a `reset`
 * (`trimmed`), never a partial replay; a history page is cut to its newest messages that fit
 * (`hasMore: true`).
 */
import type { Message, Cursor as ResumeCursor } from '@parley/protocol';
import type { Head } from '../engines/types.js';
import type { Connection } from './connection.js';
import { metric } from './context.js';
import { frameBytes } from './outbound.js';

/**
 * `{"k":v,...,"messages":[` + the messages joined by `,` + `]}`, or undefined when the result would
 * exceed `maxBytes`. Serialises one message at a time, so a too large result is never built; a
 * message given as its JSON is spliced as it is.
 */
function withMessages(
  head: Record<string, unknown>,
  messages: readonly (Message | string)[],
  maxBytes: number,
): string | undefined {
  const prefix = `${JSON.stringify(head).slice(0, -1)},"messages":[`;
  let bytes = frameBytes(prefix, maxBytes) + 2;
  const parts: string[] = [];
  for (const m of messages) {
    const json = typeof m === 'string' ? m : JSON.stringify(m);
    bytes += frameBytes(json, maxBytes - bytes) + 1;
    if (bytes > maxBytes) return undefined;
    parts.push(json);
  }
  return `${prefix}${parts.join(',')}]}`;
}

/**
 * Answers a cursor with a `replay` (complete, in order) or a `reset`. Returns the head the client
 * is now covered up to. With `known` set and the cursor already at the head, sends nothing; an
 * empty replay is only sent to answer a request (`answer`: a `sync`, with or without a `ref`,
 * is always answered — issue 19).
 */
export async function resume(
  conn: Connection,
  conversationId: string,
  cursor: ResumeCursor,
  known: Head | undefined,
  ref?: string,
  answer = ref !== undefined,
): Promise<Head> {
  const { ctx } = conn;
  if (
    known !== undefined &&
    cursor.seq === known.seq &&
    (cursor.epoch ?? known.epoch) === known.epoch
  ) {
    return known;
  }
  const maxBytes = ctx.config.maxOutboundFrameBytes;
  const range = await ctx.engine.range(conversationId, cursor.seq, ctx.config.maxReplay, maxBytes);
  const { head } = range;
  const messages = range.json ?? range.messages;
  // Left while the range was read: nothing more of it goes out.
  if (conn.isClosed() || conn.cursors.get(conversationId)?.revoked) return head;
  const r = ref === undefined ? {} : { ref };
  const epochChanged =
    (cursor.epoch !== undefined && cursor.epoch !== head.epoch) || cursor.seq > head.seq;
  const frame =
    epochChanged || !range.complete
      ? undefined
      : withMessages(
          { type: 'replay', ...r, conversationId, epoch: head.epoch, seq: head.seq },
          messages,
          maxBytes,
        );
  if (frame === undefined) {
    const reason = epochChanged ? 'epoch_changed' : 'trimmed';
    // A reset carries the read position and unread count at its seq (issue 16).
    const u = await ctx.engine.unread(conversationId, conn.userId!, head.seq);
    if (conn.isClosed() || conn.cursors.get(conversationId)?.revoked) return head;
    conn.send({
      type: 'reset',
      ...r,
      conversationId,
      epoch: head.epoch,
      seq: head.seq,
      reason,
      readSeq: u.readSeq,
      unread: u.count,
    });
    metric(ctx, { type: 'reset', conversationId, reason });
  } else if (messages.length > 0 || answer) {
    conn.outbound.send(frame);
    metric(ctx, { type: 'replay', conversationId, messages: messages.length });
  }
  return head;
}

/** A `history` page: the newest of `messages` that fit the frame bound, in seq order. */
export function historyFrame(
  conn: Connection,
  conversationId: string,
  messages: readonly (Message | string)[],
  hasMore: boolean,
  ref: string | undefined,
): string {
  const maxBytes = conn.ctx.config.maxOutboundFrameBytes;
  const head = (more: boolean) => ({
    type: 'history',
    ...(ref === undefined ? {} : { ref }),
    conversationId,
    hasMore: more,
  });
  const whole = withMessages(head(hasMore), messages, maxBytes);
  if (whole !== undefined) return whole;
  // Too large: keep the newest messages that fit, at least one (a stored message is at most
  // `maxMessageBytes`, see `invalidMessage`), so that paging always makes progress.
  let lo = 1;
  let hi = messages.length - 1;
  let best = withMessages(head(true), messages.slice(-1), Number.POSITIVE_INFINITY) as string;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = withMessages(head(true), messages.slice(-mid), maxBytes);
    if (f === undefined) hi = mid - 1;
    else {
      best = f;
      lo = mid + 1;
    }
  }
  return best;
}
