/** Every frame a server may send (protocol v1). */
import * as z from 'zod/mini';
import { ERROR_CODES } from '../codes.js';
import { PROTOCOL_VERSION } from '../version.js';
import {
  ClientMsgId,
  ConversationId,
  ConversationMeta,
  Epoch,
  Json,
  Message,
  Ref,
  Seq,
  UserId,
} from './base.js';
import { PingFrame, PongFrame } from './client.js';
import { eventName, ref } from './shared.js';

/** Presence of one user. */
export const PresenceState = z.object({
  userId: UserId,
  online: z.boolean(),
  /** When the user was last seen online (ms since epoch), if known. */
  lastSeenAt: z.optional(z.number()),
});

/** Answer to `hello`: who you are and where every conversation stands. */
export const WelcomeFrame = z.object({
  type: z.literal('welcome'),
  protocol: z.literal(PROTOCOL_VERSION),
  sessionId: z.string(),
  user: z.object({ id: UserId, name: z.optional(z.string()), avatarUrl: z.optional(z.string()) }),
  conversations: z.array(
    z.object({
      id: ConversationId,
      /** Newest seq in the conversation. */
      seq: Seq,
      epoch: Epoch,
      /** This user's read position. */
      readSeq: Seq,
      /** Read positions of the other members, by user id. */
      reads: z.optional(z.record(UserId, Seq)),
      /**
       * Countable messages (`user`/`system`) after `readSeq`, up to `seq`, computed by the server.
       * Own messages are never unread: sending marks the conversation read up to that message.
       * A client adds the countable messages from others it receives after `seq`.
       */
      unread: z.int().check(z.gte(0)),
    }),
  ),
  /** Presence of every user who shares a conversation with this user. */
  presence: z.array(PresenceState),
  heartbeat: z.object({ intervalMs: z.int(), timeoutMs: z.int() }),
  limits: z.object({
    /** Largest frame the server accepts from this client, in UTF-8 bytes. */
    maxFrameBytes: z
      .int()
      .check(
        z.describe(
          'Largest frame the server accepts from this client, in UTF-8 bytes; a larger one closes the socket with 1009.',
        ),
      ),
    /** Longest message text, in Unicode code points. */
    maxTextLength: z.int().check(z.describe('Longest message text, in Unicode code points.')),
    /**
     * The per-connection rate limit on frames other than ping/pong (a token bucket): a client
     * paces its outbox by it instead of finding it by trial. Absent: no limit announced.
     */
    rate: z.optional(z.object({ burst: z.int(), perSecond: z.number() })),
    /**
     * How long the server recognises a retried send (same `clientMsgId`) as a duplicate, in ms.
     * A client must not retry a send older than this (it could be stored twice); it fails it
     * instead. Absent: not announced.
     */
    dedupeWindowMs: z.optional(z.int()),
  }),
  /** When the credential expires (ms since epoch), if the server knows. */
  expiresAt: z.optional(z.number()),
});

/** A new message in one of the user's conversations. */
export const MessageFrame = z.object({ type: z.literal('message'), message: Message });

/** The sending socket's answer to `send`: the stored message. Same ack for a retried send. */
export const AckFrame = z.object({
  type: z.literal('ack'),
  ref,
  clientMsgId: ClientMsgId,
  message: Message,
  /** True when this send was a retry of one already stored. */
  duplicate: z.boolean(),
});

/** A typed error, correlated by `ref` to the frame that caused it. */
export const ErrorFrame = z.object({
  type: z.literal('error'),
  ref,
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** Dotted path of the offending field, for `invalid_frame`/`too_large`. */
  field: z.optional(z.string()),
  conversationId: z.optional(ConversationId),
  clientMsgId: z.optional(ClientMsgId),
  retryAfterMs: z.optional(z.int()),
});

/**
 * Everything after the client's cursor, complete and in order (never partial). A server bounds
 * the frames it builds from history (Parley's hub: `limits.maxOutboundFrameBytes`, 512 KiB by
 * default): a gap whose replay would be larger is answered with `reset` (`trimmed`) instead.
 */
export const ReplayFrame = z.object({
  type: z.literal('replay'),
  ref,
  conversationId: ConversationId,
  epoch: Epoch,
  /** Newest seq at the time of the replay; equals the last message's seq when non-empty. */
  seq: Seq,
  messages: z.array(Message),
});

/**
 * The gap cannot be filled: drop local state for the conversation, adopt `epoch` and `seq` as the
 * cursor, and page messages back in with `history`. `readSeq` and `unread` are this user's read
 * position and unread count at `seq`, so counts are right after a reset too.
 */
export const ResetFrame = z.object({
  type: z.literal('reset'),
  ref,
  conversationId: ConversationId,
  epoch: Epoch,
  seq: Seq,
  reason: z.enum(['trimmed', 'epoch_changed']),
  readSeq: z.optional(Seq),
  unread: z.optional(z.int().check(z.gte(0))),
});

/** A page of older messages, in seq order. */
export const HistoryPageFrame = z.object({
  type: z.literal('history'),
  ref,
  conversationId: ConversationId,
  messages: z.array(Message),
  /** True when older messages exist before the first one of this page. */
  hasMore: z.boolean(),
});

/** Another member's typing state. */
export const TypingStateFrame = z.object({
  type: z.literal('typing'),
  conversationId: ConversationId,
  userId: UserId,
  state: z.enum(['start', 'stop']),
  /** How long the receiver shows "typing" without a refresh. */
  ttlMs: z.int(),
});

/**
 * A member's (possibly this user's own, from another device) read position. On the reader's own
 * sockets it carries `unread`: the count after this read, up to the head `at` when it was
 * computed (a client adds the countable messages from others it holds after `at`).
 */
export const ReadStateFrame = z.object({
  type: z.literal('read'),
  conversationId: ConversationId,
  userId: UserId,
  seq: Seq,
  unread: z.optional(z.object({ count: z.int().check(z.gte(0)), at: Seq })),
});

/** A contact went online or offline. */
export const PresenceFrame = z.object({
  type: z.literal('presence'),
  userId: UserId,
  online: z.boolean(),
  lastSeenAt: z.optional(z.number()),
});

/**
 * The user was added to a conversation (`hub.join`); its messages now arrive on this socket.
 * `seq` is the conversation's head when the server recorded the membership: everything after it
 * follows on this socket (a `replay`, then live messages, or a `reset`), so the client adopts
 * `seq`/`epoch` as its cursor and pages anything older with `history`.
 */
export const JoinedFrame = z.object({
  type: z.literal('joined'),
  conversationId: ConversationId,
  seq: Seq.check(
    z.describe(
      "The conversation's head when the membership was recorded; every message after it follows on this socket (replay, then live), so it is the client's cursor.",
    ),
  ),
  epoch: Epoch,
  /** This user's read position and unread count at `seq` (as in `welcome`). */
  readSeq: z.optional(Seq),
  unread: z.optional(z.int().check(z.gte(0))),
});

/** The user was removed from a conversation (`hub.leave`). */
export const LeftFrame = z.object({ type: z.literal('left'), conversationId: ConversationId });

/** A custom event from another user (`from`) or from server code (`from` = server id). */
export const ServerEventFrame = z.object({
  type: z.literal('event'),
  name: eventName,
  from: z.string(),
  conversationId: z.optional(ConversationId),
  payload: Json,
});

/** The server asks for a fresh token within `deadlineMs`, else it closes with 4401. */
export const ReauthFrame = z.object({ type: z.literal('reauth'), deadlineMs: z.int() });

/**
 * A request that has no other answer succeeded: sent for a client `event` frame that carried a
 * `ref`, once the event was published. (A refusal is an `error` with the same `ref`.)
 */
export const OkFrame = z.object({ type: z.literal('ok'), ref: Ref });

/** The fresh token was accepted. */
export const AuthedFrame = z.object({
  type: z.literal('authed'),
  ref,
  expiresAt: z.optional(z.number()),
});

/**
 * The inbox, right after `welcome`: each conversation's last countable message (current state)
 * and metadata, newest activity first, in chunks bounded by the server's outbound frame bound.
 * The chunk with `more: false` completes it: from then on every conversation of `welcome` has
 * its row (head, read position, unread count, last message, metadata) without any history.
 */
export const SummaryFrame = z.object({
  type: z.literal('summary'),
  conversations: z.array(
    z.object({
      id: ConversationId,
      lastMessage: z.optional(Message),
      meta: z.optional(ConversationMeta),
    }),
  ),
  more: z.boolean(),
});

/** A conversation's metadata changed (`hub.updateConversation`). */
export const ConversationFrame = z.object({
  type: z.literal('conversation'),
  conversationId: ConversationId,
  meta: ConversationMeta,
});

/**
 * The session start is complete: after `welcome`, the `summary` chunks and every `replay`/`reset`
 * the hello's cursors asked for. Everything after it is live.
 */
export const SyncedFrame = z.object({ type: z.literal('synced') });

/** Sent before a graceful close (1012): reconnect after about `retryAfterMs` (jittered). */
export const ShutdownFrame = z.object({ type: z.literal('shutdown'), retryAfterMs: z.int() });

/** Every frame a server may send. */
export const ServerFrame = z.discriminatedUnion('type', [
  WelcomeFrame,
  MessageFrame,
  AckFrame,
  ErrorFrame,
  ReplayFrame,
  ResetFrame,
  HistoryPageFrame,
  TypingStateFrame,
  ReadStateFrame,
  PresenceFrame,
  JoinedFrame,
  LeftFrame,
  ServerEventFrame,
  ReauthFrame,
  AuthedFrame,
  OkFrame,
  SummaryFrame,
  ConversationFrame,
  SyncedFrame,
  ShutdownFrame,
  PingFrame,
  PongFrame,
]);

export type PresenceState = z.infer<typeof PresenceState>;
export type WelcomeFrame = z.infer<typeof WelcomeFrame>;
export type MessageFrame = z.infer<typeof MessageFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;
export type ReplayFrame = z.infer<typeof ReplayFrame>;
export type ResetFrame = z.infer<typeof ResetFrame>;
export type HistoryPageFrame = z.infer<typeof HistoryPageFrame>;
export type TypingStateFrame = z.infer<typeof TypingStateFrame>;
export type ReadStateFrame = z.infer<typeof ReadStateFrame>;
export type PresenceFrame = z.infer<typeof PresenceFrame>;
export type JoinedFrame = z.infer<typeof JoinedFrame>;
export type LeftFrame = z.infer<typeof LeftFrame>;
export type ServerEventFrame = z.infer<typeof ServerEventFrame>;
export type ReauthFrame = z.infer<typeof ReauthFrame>;
export type AuthedFrame = z.infer<typeof AuthedFrame>;
export type OkFrame = z.infer<typeof OkFrame>;
export type SummaryFrame = z.infer<typeof SummaryFrame>;
export type ConversationFrame = z.infer<typeof ConversationFrame>;
export type SyncedFrame = z.infer<typeof SyncedFrame>;
export type ShutdownFrame = z.infer<typeof ShutdownFrame>;
export type ServerFrame = z.infer<typeof ServerFrame>;

/** The `type` of every server frame. */
export type ServerFrameType = ServerFrame['type'];

/** Schemas by frame type for the server direction. */
export const serverFrameSchemas = {
  welcome: WelcomeFrame,
  message: MessageFrame,
  ack: AckFrame,
  error: ErrorFrame,
  replay: ReplayFrame,
  reset: ResetFrame,
  history: HistoryPageFrame,
  typing: TypingStateFrame,
  read: ReadStateFrame,
  presence: PresenceFrame,
  joined: JoinedFrame,
  left: LeftFrame,
  event: ServerEventFrame,
  reauth: ReauthFrame,
  authed: AuthedFrame,
  ok: OkFrame,
  summary: SummaryFrame,
  conversation: ConversationFrame,
  synced: SyncedFrame,
  shutdown: ShutdownFrame,
  ping: PingFrame,
  pong: PongFrame,
} as const satisfies { [K in ServerFrameType]: z.ZodMiniType };
