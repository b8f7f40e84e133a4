/**
 * What the page does to a stored message (edit, delete, react) and how a reply or an image is
 * sent, on top of the client's message API (`message.edit/delete/react`, `send(text, { data,
 * replyTo })`): optimistic, with the client's outbox and retries. Failures show in a toast.
 */
import type { ClientMessage, Conversation, JsonValue, StoredMessage } from '@parley/client';

/** The small set of reactions the page offers. */
export const EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '🙏'] as const;

/** The message operations of the client (see the client README, "Message lifecycle"). */
interface Operable {
  edit(text: string, options?: { data?: JsonValue }): Promise<unknown>;
  delete(): Promise<unknown>;
  react(emoji: string, on?: boolean): Promise<unknown>;
}

function operable(m: StoredMessage): Operable {
  const ops = m as unknown as Partial<Operable>;
  if (typeof ops.edit !== 'function') throw new Error('this client cannot change messages');
  return ops as Operable;
}

export const editMessage = (m: StoredMessage, text: string) =>
  operable(m).edit(text, m.data === undefined ? {} : { data: m.data });
export const deleteMessage = (m: StoredMessage) => operable(m).delete();
/** Adds the user's `emoji` to `m`, or removes it when `on` is false. */
export const reactTo = (m: StoredMessage, emoji: string, on: boolean) =>
  operable(m).react(emoji, on);

/** Sends `text` (and `data`), answering `replyTo` (a seq) when given. */
export function sendMessage(
  c: Conversation,
  text: string,
  options: { data?: JsonValue; replyTo?: number },
): Promise<StoredMessage> {
  const send = c.send.bind(c) as (
    text: string,
    options: { data?: JsonValue; replyTo?: number },
  ) => Promise<StoredMessage>;
  return send(text, options);
}

/** The users who reacted with each emoji (the message's current state). */
export function reactionsOf(m: ClientMessage): [emoji: string, users: readonly string[]][] {
  const r = m.status === 'sent' ? m.reactions : undefined;
  return r ? Object.entries(r).filter(([, users]) => users.length > 0) : [];
}
