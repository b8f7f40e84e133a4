/**
 * What an operation (edit, delete, reaction) does to the message it targets (PROTOCOL.md,
 * "Message lifecycle") — the same rule the hub applies when it stores one. The client applies a
 * stored operation only when its seq is above the target's `version` (and sets `version` to it),
 * and shows its own unacknowledged operations over the stored state until they are settled.
 */
import type { Message } from '@parley/protocol/core';
import type { OutboxItem } from './outbox-storage.js';
import type { StoredMessage } from './types.js';

/** The fields of an operation that change its target. */
type Op = Pick<Message, 'kind' | 'text' | 'data' | 'createdAt' | 'senderId' | 'reaction'>;

/** The target's state after `op`; `version` is the operation's seq (none while unacknowledged). */
export function applyOp(t: StoredMessage, op: Op, version?: number): StoredMessage {
  const n: StoredMessage = version === undefined ? { ...t } : { ...t, version };
  if (op.kind === 'edit') {
    n.text = op.text;
    n.editedAt = op.createdAt;
    if (op.data === undefined) delete n.data;
    else n.data = op.data;
  } else if (op.kind === 'delete') {
    n.text = '';
    n.deleted = true;
    delete n.data;
    delete n.reactions;
  } else if (op.reaction !== undefined) {
    // No prototype: an emoji may be any short string, `__proto__` included.
    const r: Record<string, string[]> = Object.assign(Object.create(null), t.reactions);
    const { emoji, on } = op.reaction;
    const had = r[emoji] ?? [];
    const users = !on
      ? had.filter((u) => u !== op.senderId)
      : had.includes(op.senderId)
        ? had
        : [...had, op.senderId];
    // An emoji nobody reacts with any more is dropped, and so is an empty `reactions`.
    if (users.length > 0) r[emoji] = users;
    else delete r[emoji];
    if (Object.keys(r).length > 0) n.reactions = r;
    else delete n.reactions;
  }
  return n;
}

/** An unacknowledged operation of this device, as the operation it will be stored as. */
export const pendingOp = (i: OutboxItem, senderId: string): Op => ({
  ...i,
  kind: i.op === 'react' ? 'reaction' : (i.op as 'edit' | 'delete'),
  senderId,
  reaction: { emoji: i.emoji!, on: i.on! },
});
