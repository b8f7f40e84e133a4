/**
 * What the page does to a stored message (edit, delete, react) through the client's
 * conversation API (`edit(seq, …)`, `delete(seq)`, `react(seq, emoji, on)`): optimistic, through
 * the same outbox, retries and failures as sends. A refusal (`forbidden`, `not_found`,
 * `rejected`) rejects the promise and the message shows its stored state again.
 */
import type { ClientMessage, StoredMessage } from '@parley/client';
import { app } from './state.js';

/** The small set of reactions the page offers. */
export const EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '🙏'] as const;

function conversationOf(m: StoredMessage) {
  if (!app.client) throw new Error('not signed in');
  return app.client.conversation(m.conversationId);
}

/** A new text for `m`; its `data` (an image) stays. */
export const editMessage = (m: StoredMessage, text: string) =>
  conversationOf(m).edit(m.seq, text, m.data === undefined ? {} : { data: m.data });
export const deleteMessage = (m: StoredMessage) => conversationOf(m).delete(m.seq);
/** Adds the user's `emoji` to `m`, or removes it when `on` is false. */
export const reactTo = (m: StoredMessage, emoji: string, on: boolean) =>
  conversationOf(m).react(m.seq, emoji, on);

/** The users who reacted with each emoji (the message's current state). */
export function reactionsOf(m: ClientMessage): [emoji: string, users: readonly string[]][] {
  const r = m.status === 'sent' ? m.reactions : undefined;
  return r ? Object.entries(r).filter(([, users]) => users.length > 0) : [];
}
