/**
 * Which `reset`s the page must show. A reset means the client dropped a conversation's local
 * messages and is paging in what the server holds now. On a fresh page that is just how a long
 * history loads (`trimmed` at cursor 0): nothing to say. But when the page already showed messages,
 * or the server's history itself was replaced (`epoch_changed`: the demo's in-memory store died with
 * its process), silently swapping the messages would mislead — so the conversation gets a notice at
 * the point where it happened, and the inbox row a marker.
 */
import type { ResetEvent } from '@parley/client';

/** A reset the user is told about. */
export interface ResetNotice {
  conversationId: string;
  reason: ResetEvent['reason'];
  /** The conversation's head when the reset arrived: the notice goes after this seq. */
  seq: number;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export class ResetNotices {
  /** Highest contiguous seq the page held per conversation, as of the last change. */
  private readonly held = new Map<string, number>();
  private readonly notices = new Map<string, ResetNotice>();

  /** Records what the page holds now; call on every change (the client's `inbox` event). */
  observe(conversations: Iterable<{ id: string; seq: number }>): void {
    for (const c of conversations) this.held.set(c.id, c.seq);
  }

  /**
   * A `reset` arrived (before the conversation's next change is observed). Returns the notice to
   * show, or `undefined` when nothing the user saw was dropped.
   */
  onReset(ev: ResetEvent, now = Date.now()): ResetNotice | undefined {
    const held = this.held.get(ev.conversationId) ?? 0;
    this.held.set(ev.conversationId, ev.seq);
    if (ev.reason !== 'epoch_changed' && held === 0) return undefined;
    const notice: ResetNotice = {
      conversationId: ev.conversationId,
      reason: ev.reason,
      seq: ev.seq,
      at: now,
    };
    this.notices.set(ev.conversationId, notice);
    return notice;
  }

  get(conversationId: string): ResetNotice | undefined {
    return this.notices.get(conversationId);
  }

  dismiss(conversationId: string): void {
    this.notices.delete(conversationId);
  }

  clear(): void {
    this.held.clear();
    this.notices.clear();
  }
}

/** The notice's wording. */
export function resetText(notice: ResetNotice, time: string): { title: string; body: string } {
  if (notice.reason === 'epoch_changed') {
    return {
      title: `History reset at ${time}`,
      body: 'The server restarted and lost the messages it kept in memory. What is above is what it holds now; messages from before the restart are gone. New messages appear below.',
    };
  }
  return {
    title: `Jumped to the newest messages at ${time}`,
    body: 'You missed more messages than the server replays at once. Load older messages to read the rest.',
  };
}
