/**
 * The values frames are made of: ids, seqs, JSON, profiles, conversation metadata and the stored
 * message (with the operations that change it: edit, delete, reaction).
 */
import * as z from 'zod/mini';
import { isJsonValue, type JsonValue } from '../json.js';
import { Limits } from '../limits.js';

const id = (what: string) =>
  z
    .string()
    .check(
      z.minLength(1, `${what} must not be empty`),
      z.maxLength(
        Limits.MAX_ID_LENGTH,
        `${what} is longer than ${Limits.MAX_ID_LENGTH} code points`,
      ),
    );

/** Conversation id: app-defined, 1–128 code points. */
export const ConversationId = id('conversationId');
/** User id: app-defined, 1–128 code points. */
export const UserId = id('userId');
/** Client-generated message id used for de-duplication, 1–128 code points. */
export const ClientMsgId = id('clientMsgId');
/** Request reference a client attaches to correlate the server's answer (`ack`, `error`, ...). */
export const Ref = id('ref');
/** Per-conversation sequence number; the first message is 1, 0 means "nothing yet". */
export const Seq = z.int().check(z.gte(0, 'seq must be >= 0'));
/** Opaque identity of a conversation's history; changes when the store loses its history. */
export const Epoch = id('epoch');

/** App-defined JSON (message `data`, event `payload`), depth-limited. */
export const Json = z.custom<JsonValue>(
  (v) => isJsonValue(v),
  `must be JSON (finite numbers, plain objects, depth <= ${Limits.MAX_JSON_DEPTH})`,
);

/** Public profile of a user, as returned by the server's `authenticate` hook. */
export const Profile = z.object({
  name: z.optional(z.string().check(z.maxLength(256))),
  avatarUrl: z.optional(z.string().check(z.maxLength(2048))),
});

/**
 * Message text: at most `Limits.MAX_TEXT_LENGTH` Unicode code points — the protocol's one unit
 * for text length, counted the same way by this schema, JSON Schema's `maxLength` and the hub.
 */
export const MessageText = z
  .string()
  .check(
    z.maxLength(
      Limits.MAX_TEXT_LENGTH,
      `text is longer than ${Limits.MAX_TEXT_LENGTH} code points`,
    ),
    z.describe(
      `Message text: at most ${Limits.MAX_TEXT_LENGTH} Unicode code points (a surrogate pair counts once), the unit JSON Schema's maxLength counts in.`,
    ),
  );

/** A positive seq: a message (or operation) that exists, e.g. the target of an edit. */
export const TargetSeq = z.int().check(z.gte(1, 'must be a seq >= 1'));

/**
 * A reaction: any short string (an emoji such as "👍", or an app's shortcode such as ":+1:"), at
 * most `Limits.MAX_EMOJI_LENGTH` code points.
 */
export const Emoji = z
  .string()
  .check(
    z.minLength(1, 'emoji must not be empty'),
    z.maxLength(
      Limits.MAX_EMOJI_LENGTH,
      `emoji is longer than ${Limits.MAX_EMOJI_LENGTH} code points`,
    ),
  );

/**
 * What a message is:
 * - `user` (sent by a client) and `system` (published by server code) are *countable*: they count
 *   towards unread and are what an inbox shows as the last message;
 * - `edit`, `delete` and `reaction` are *operations* on an earlier message (`target`). They take
 *   their own seq in the same ordered stream — so resume, gap fill, de-duplication and fan-out
 *   cover them — and a client applies them to the target it holds.
 */
export const MessageKind = z.enum(['user', 'system', 'edit', 'delete', 'reaction']);

/** A stored message, as every member receives it. */
export const Message = z.object({
  /** Server- or app-assigned message id. */
  id: z.string(),
  conversationId: ConversationId,
  seq: z.int().check(z.gte(1)),
  /** The id the sending client generated; `''` is never used. */
  clientMsgId: z.string(),
  /** Authenticated sender; for `hub.publish` messages, the id the server chose (e.g. `system`). */
  senderId: z.string(),
  sender: z.optional(Profile),
  kind: MessageKind,
  /** For `user`/`system`: the content. For `edit`: the new text. Otherwise `''`. */
  text: MessageText,
  /** For `user`/`system`: app-defined JSON. For `edit`: the new data (absent: data removed). */
  data: z.optional(Json),
  /** Milliseconds since the Unix epoch, assigned by the server. */
  createdAt: z.number(),
  /** `user`/`system` only: the seq of the message this one answers, in the same conversation. */
  replyTo: z.optional(TargetSeq),
  /** Operations only: the seq of the message the operation changes. */
  target: z.optional(TargetSeq),
  /** `reaction` only: which reaction, added (`on: true`) or removed by the sender. */
  reaction: z.optional(z.object({ emoji: Emoji, on: z.boolean() })),
  /** Current state, `user`/`system` only: when it was last edited (ms since the Unix epoch). */
  editedAt: z.optional(z.number()),
  /** Current state: deleted (a tombstone that keeps its seq; `text` is `''`, no `data`). */
  deleted: z.optional(z.literal(true)),
  /** Current state: who reacted with what (emoji -> user ids, in the order they reacted). */
  reactions: z.optional(z.record(Emoji, z.array(UserId))),
  /**
   * Current state: the seq of the last operation applied to this message (absent: none). A client
   * applies an operation only when its seq is above `version`, so a message fetched after the
   * operation (a history page) and the operation itself converge on the same state.
   */
  version: z.optional(TargetSeq),
});

/**
 * Conversation metadata from the server's `conversationMeta` hook: what an inbox shows without a
 * second API. Every field is optional; `data` is app-defined.
 */
export const ConversationMeta = z.object({
  title: z.optional(z.string().check(z.maxLength(256))),
  avatarUrl: z.optional(z.string().check(z.maxLength(2048))),
  /** Member user ids (at most `Limits.MAX_META_MEMBERS`; a larger group may omit it). */
  members: z.optional(z.array(UserId).check(z.maxLength(Limits.MAX_META_MEMBERS))),
  data: z.optional(Json),
});

/** Resume cursor: the last seq the client holds, and the epoch it came from. */
export const Cursor = z.object({ seq: Seq, epoch: z.optional(Epoch) });

export type Profile = z.infer<typeof Profile>;
export type Message = z.infer<typeof Message>;
export type Cursor = z.infer<typeof Cursor>;
export type MessageKind = z.infer<typeof MessageKind>;
export type ConversationMeta = z.infer<typeof ConversationMeta>;
