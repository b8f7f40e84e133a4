/**
 * What an operation (edit, delete, reaction) does to the message it targets — the one definition
 * every engine applies when it stores the operation, and the rule clients apply to the messages
 * they hold (PROTOCOL.md, "Message lifecycle"). Pure functions, no I/O.
 */
import { Limits, type Message, type MessageKind } from '@parley/protocol';
import { utf8Bytes } from '../text.js';
import { isCountable } from './types.js';

export { isCountable };

/** Kinds stored by {@link import('./types.js').Engine.applyOperation}. */
export const isOperation = (kind: MessageKind): boolean =>
  kind === 'edit' || kind === 'delete' || kind === 'reaction';

/**
 * Whether `target` can take an operation at all: a countable message that is not deleted
 * (a tombstone takes no edit, no reaction and no second delete).
 */
export const canOperateOn = (target: Message | undefined): target is Message =>
  target !== undefined && isCountable(target) && target.deleted !== true;

/**
 * The target's state after `op` (which carries its seq):
 * - `edit`: `text` and `data` replaced (`data` absent: removed), `editedAt` = the edit's
 *   `createdAt`;
 * - `delete`: a tombstone — `deleted: true`, `text: ''`, no `data`, no `reactions` (the seq,
 *   sender, `replyTo`, `createdAt` and `editedAt` stay);
 * - `reaction`: the sender added to (`on: true`, if absent) or removed from (`on: false`)
 *   `reactions[emoji]`; an emoji nobody reacts with any more is dropped, and so is an empty
 *   `reactions`. Returns `'too_many_reactions'` when a new emoji would give the message more than
 *   `maxKinds` distinct ones.
 * and in every case `version` = the operation's seq. Returns `'too_large'` when the new state's
 * JSON would be over `maxBytes` UTF-8 bytes (a stored message has a bound: many reactions in a
 * large group, or an edit of a message with many reactions, could pass it).
 */
export function applyToTarget(
  target: Message,
  op: Message,
  limits: { maxKinds?: number; maxBytes?: number } = {},
): Message | 'too_many_reactions' | 'too_large' {
  const next = nextState(target, op, limits.maxKinds ?? Limits.MAX_REACTION_KINDS);
  if (next === 'too_many_reactions' || limits.maxBytes === undefined) return next;
  return utf8Bytes(JSON.stringify(next)) > limits.maxBytes ? 'too_large' : next;
}

function nextState(target: Message, op: Message, maxKinds: number): Message | 'too_many_reactions' {
  const version = op.seq;
  switch (op.kind) {
    case 'edit': {
      const { data: _old, ...rest } = target;
      return {
        ...rest,
        text: op.text,
        ...(op.data === undefined ? {} : { data: op.data }),
        editedAt: op.createdAt,
        version,
      };
    }
    case 'delete': {
      const { data: _d, reactions: _r, ...rest } = target;
      return { ...rest, text: '', deleted: true, version };
    }
    case 'reaction': {
      const reaction = op.reaction;
      if (reaction === undefined) return { ...target, version };
      // No prototype: an emoji may be any short string, `__proto__` included.
      const reactions: Record<string, string[]> = Object.assign(
        Object.create(null) as Record<string, string[]>,
        target.reactions,
      );
      const users = reactions[reaction.emoji] ?? [];
      if (reaction.on) {
        if (!users.includes(op.senderId)) {
          if (users.length === 0 && Object.keys(reactions).length >= maxKinds) {
            return 'too_many_reactions';
          }
          reactions[reaction.emoji] = [...users, op.senderId];
        }
      } else if (users.includes(op.senderId)) {
        const left = users.filter((u) => u !== op.senderId);
        if (left.length === 0) delete reactions[reaction.emoji];
        else reactions[reaction.emoji] = left;
      }
      const { reactions: _r, ...rest } = target;
      return Object.keys(reactions).length === 0
        ? { ...rest, version }
        : { ...rest, reactions, version };
    }
    default:
      return target;
  }
}
