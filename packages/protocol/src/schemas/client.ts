/** Every frame a client may send (protocol v1). */
import * as z from 'zod/mini';
import { Limits } from '../limits.js';
import { PROTOCOL_VERSION } from '../version.js';
import {
  ClientMsgId,
  ConversationId,
  Cursor,
  Emoji,
  Epoch,
  Json,
  MessageText,
  Seq,
  TargetSeq,
  UserId,
} from './base.js';
import { eventName, ref } from './shared.js';

/** First frame on every connection: credentials and resume cursors. */
export const HelloFrame = z.object({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  /** Credential for the `authenticate` hook; may be omitted when a cookie/header carries it. */
  token: z.optional(z.string().check(z.maxLength(Limits.MAX_TOKEN_LENGTH))),
  /**
   * Last seq held per conversation: such a conversation resumes (a complete `replay` of what was
   * missed, or a `reset`). A conversation missing here is not replayed: the client starts at its
   * head (from `welcome` and the `summary` frames) and pages messages in with `history`. A cursor
   * `{ "seq": 0 }` asks for everything after 0.
   */
  cursors: z.optional(
    z.record(ConversationId, Cursor).check(
      z.refine((r) => Object.keys(r).length <= Limits.MAX_CURSORS, {
        message: `at most ${Limits.MAX_CURSORS} cursors`,
      }),
    ),
  ),
  client: z.optional(
    z.object({
      name: z.optional(z.string().check(z.maxLength(64))),
      version: z.optional(z.string().check(z.maxLength(32))),
    }),
  ),
});

/** Supplies a fresh token, on the server's `reauth` request or proactively. */
export const AuthFrame = z.object({
  type: z.literal('auth'),
  ref,
  token: z.string().check(z.maxLength(Limits.MAX_TOKEN_LENGTH)),
});

/** Sends a message. Identity fields (sender, senderId, ...) are never read from it. */
export const SendFrame = z.object({
  type: z.literal('send'),
  ref,
  conversationId: ConversationId,
  clientMsgId: ClientMsgId,
  text: MessageText,
  data: z.optional(Json),
  /** The seq of the message this one answers (it must exist in the same conversation). */
  replyTo: z.optional(TargetSeq),
});

/**
 * Edits one of the sender's messages (`target`): new `text`, and new `data` (absent: removed).
 * Stored as an `edit` operation with its own seq and answered like a send (`ack`, or `error`):
 * `forbidden` for another user's message (unless the server's hook allows it), `not_found` for a
 * target that is not a countable message of the conversation (or no longer held).
 */
export const EditFrame = z.object({
  type: z.literal('edit'),
  ref,
  conversationId: ConversationId,
  /** Idempotency id of the operation (a retry with the same id is stored once). */
  clientMsgId: ClientMsgId,
  target: TargetSeq,
  text: MessageText,
  data: z.optional(Json),
});

/** Deletes one of the sender's messages (`target`), leaving a tombstone. Answered like `edit`. */
export const DeleteFrame = z.object({
  type: z.literal('delete'),
  ref,
  conversationId: ConversationId,
  clientMsgId: ClientMsgId,
  target: TargetSeq,
});

/** Adds (`on: true`) or removes the sender's reaction to a message. Answered like `edit`. */
export const ReactFrame = z.object({
  type: z.literal('react'),
  ref,
  conversationId: ConversationId,
  clientMsgId: ClientMsgId,
  target: TargetSeq,
  emoji: Emoji,
  on: z.boolean(),
});

/** Typing state; ephemeral, never stored, dropped first under backpressure. */
export const TypingFrame = z.object({
  type: z.literal('typing'),
  conversationId: ConversationId,
  state: z.enum(['start', 'stop']),
});

/** Marks the conversation read up to `seq` (monotonic: a lower value is ignored). */
export const ReadFrame = z.object({
  type: z.literal('read'),
  ref,
  conversationId: ConversationId,
  seq: z.int().check(z.gte(1)),
});

/** Asks for every message after `after` (gap fill). Answered by `replay` or `reset`. */
export const SyncFrame = z.object({
  type: z.literal('sync'),
  ref,
  conversationId: ConversationId,
  after: Seq,
  epoch: z.optional(Epoch),
});

/** Asks for a page of older messages, newest first up to `limit`, returned in seq order. */
export const HistoryRequestFrame = z.object({
  type: z.literal('history'),
  ref,
  conversationId: ConversationId,
  /** Exclusive upper bound; omitted means "the newest". */
  before: z.optional(z.int().check(z.gte(1))),
  limit: z.optional(z.int().check(z.gte(1), z.lte(Limits.MAX_HISTORY_PAGE))),
});

/** An app-defined custom event to a conversation's other members, or to one user. */
export const ClientEventFrame = z
  .object({
    type: z.literal('event'),
    ref,
    name: eventName,
    /** Exactly one of `conversationId` and `userId`. */
    conversationId: z.optional(ConversationId),
    userId: z.optional(UserId),
    payload: Json,
  })
  .check(
    z.refine((f) => (f.conversationId === undefined) !== (f.userId === undefined), {
      message: 'exactly one of conversationId and userId is required',
      path: ['conversationId'],
    }),
  );

/** Liveness probe; the other side answers `pong` with the same `ref`. */
export const PingFrame = z.object({ type: z.literal('ping'), ref });
/** Answer to `ping`. */
export const PongFrame = z.object({ type: z.literal('pong'), ref });

/** Every frame a client may send. */
export const ClientFrame = z.discriminatedUnion('type', [
  HelloFrame,
  AuthFrame,
  SendFrame,
  EditFrame,
  DeleteFrame,
  ReactFrame,
  TypingFrame,
  ReadFrame,
  SyncFrame,
  HistoryRequestFrame,
  ClientEventFrame,
  PingFrame,
  PongFrame,
]);

export type HelloFrame = z.infer<typeof HelloFrame>;
export type AuthFrame = z.infer<typeof AuthFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type EditFrame = z.infer<typeof EditFrame>;
export type DeleteFrame = z.infer<typeof DeleteFrame>;
export type ReactFrame = z.infer<typeof ReactFrame>;
export type TypingFrame = z.infer<typeof TypingFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;
export type SyncFrame = z.infer<typeof SyncFrame>;
export type HistoryRequestFrame = z.infer<typeof HistoryRequestFrame>;
export type ClientEventFrame = z.infer<typeof ClientEventFrame>;
export type PingFrame = z.infer<typeof PingFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type ClientFrame = z.infer<typeof ClientFrame>;

/** The `type` of every client frame. */
export type ClientFrameType = ClientFrame['type'];

/** Schemas by frame type, used by the codec to validate against exactly one schema. */
export const clientFrameSchemas = {
  hello: HelloFrame,
  auth: AuthFrame,
  send: SendFrame,
  edit: EditFrame,
  delete: DeleteFrame,
  react: ReactFrame,
  typing: TypingFrame,
  read: ReadFrame,
  sync: SyncFrame,
  history: HistoryRequestFrame,
  event: ClientEventFrame,
  ping: PingFrame,
  pong: PongFrame,
} as const satisfies { [K in ClientFrameType]: z.ZodMiniType };
