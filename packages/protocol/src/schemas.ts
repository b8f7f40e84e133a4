/**
 * Every frame of protocol v1, in both directions, as Zod (mini) schemas. Types are inferred from
 * these; `PROTOCOL.md` documents them with examples and `schema/*.json` is generated from them.
 */
import * as z from 'zod/mini';
import { ERROR_CODES } from './codes.js';
import { isJsonValue, type JsonValue } from './json.js';
import { Limits } from './limits.js';
import { PROTOCOL_VERSION } from './version.js';

const id = (what: string) =>
  z
    .string()
    .check(
      z.minLength(1, `${what} must not be empty`),
      z.maxLength(
        Limits.MAX_ID_LENGTH,
        `${what} is longer than ${Limits.MAX_ID_LENGTH} characters`,
      ),
    );

/** Conversation id: app-defined, 1–128 characters. */
export const ConversationId = id('conversationId');
/** User id: app-defined, 1–128 characters. */
export const UserId = id('userId');
/** Client-generated message id used for de-duplication, 1–128 characters. */
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
const Text = z
  .string()
  .check(
    z.maxLength(Limits.MAX_TEXT_LENGTH, `text is longer than ${Limits.MAX_TEXT_LENGTH} characters`),
    z.describe(
      `Message text: at most ${Limits.MAX_TEXT_LENGTH} Unicode code points (a surrogate pair counts once), the unit JSON Schema's maxLength counts in.`,
    ),
  );

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
  /** `user` for messages sent by clients, `system` for messages published by server code. */
  kind: z.enum(['user', 'system']),
  text: Text,
  data: z.optional(Json),
  /** Milliseconds since the Unix epoch, assigned by the server. */
  createdAt: z.number(),
});

/** Resume cursor: the last seq the client holds, and the epoch it came from. */
export const Cursor = z.object({ seq: Seq, epoch: z.optional(Epoch) });

// ---------------------------------------------------------------------------------------------
// Client -> server
// ---------------------------------------------------------------------------------------------

const ref = z.optional(Ref);

/** First frame on every connection: credentials and resume cursors. */
export const HelloFrame = z.object({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  /** Credential for the `authenticate` hook; may be omitted when a cookie/header carries it. */
  token: z.optional(z.string().check(z.maxLength(Limits.MAX_TOKEN_LENGTH))),
  /** Last seq held per conversation. A conversation missing here resumes from 0 (everything kept). */
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
  text: Text,
  data: z.optional(Json),
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

const eventName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(Limits.MAX_EVENT_NAME_LENGTH),
    z.regex(/^[A-Za-z0-9_.:-]+$/, 'name may contain letters, digits, _ . : - only'),
  );

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
  TypingFrame,
  ReadFrame,
  SyncFrame,
  HistoryRequestFrame,
  ClientEventFrame,
  PingFrame,
  PongFrame,
]);

// ---------------------------------------------------------------------------------------------
// Server -> client
// ---------------------------------------------------------------------------------------------

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

/** The gap cannot be filled: drop local state for the conversation and refetch. */
export const ResetFrame = z.object({
  type: z.literal('reset'),
  ref,
  conversationId: ConversationId,
  epoch: Epoch,
  seq: Seq,
  reason: z.enum(['trimmed', 'epoch_changed']),
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

/** A member's (possibly this user's own, from another device) read position. */
export const ReadStateFrame = z.object({
  type: z.literal('read'),
  conversationId: ConversationId,
  userId: UserId,
  seq: Seq,
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
  ShutdownFrame,
  PingFrame,
  PongFrame,
]);

export type Profile = z.infer<typeof Profile>;
export type Message = z.infer<typeof Message>;
export type Cursor = z.infer<typeof Cursor>;
export type PresenceState = z.infer<typeof PresenceState>;

export type HelloFrame = z.infer<typeof HelloFrame>;
export type AuthFrame = z.infer<typeof AuthFrame>;
export type SendFrame = z.infer<typeof SendFrame>;
export type TypingFrame = z.infer<typeof TypingFrame>;
export type ReadFrame = z.infer<typeof ReadFrame>;
export type SyncFrame = z.infer<typeof SyncFrame>;
export type HistoryRequestFrame = z.infer<typeof HistoryRequestFrame>;
export type ClientEventFrame = z.infer<typeof ClientEventFrame>;
export type PingFrame = z.infer<typeof PingFrame>;
export type PongFrame = z.infer<typeof PongFrame>;
export type ClientFrame = z.infer<typeof ClientFrame>;

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
export type ShutdownFrame = z.infer<typeof ShutdownFrame>;
export type ServerFrame = z.infer<typeof ServerFrame>;

/** The `type` of every client frame. */
export type ClientFrameType = ClientFrame['type'];
/** The `type` of every server frame. */
export type ServerFrameType = ServerFrame['type'];

/** Schemas by frame type, used by the codec to validate against exactly one schema. */
export const clientFrameSchemas = {
  hello: HelloFrame,
  auth: AuthFrame,
  send: SendFrame,
  typing: TypingFrame,
  read: ReadFrame,
  sync: SyncFrame,
  history: HistoryRequestFrame,
  event: ClientEventFrame,
  ping: PingFrame,
  pong: PongFrame,
} as const satisfies { [K in ClientFrameType]: z.ZodMiniType };

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
  shutdown: ShutdownFrame,
  ping: PingFrame,
  pong: PongFrame,
} as const satisfies { [K in ServerFrameType]: z.ZodMiniType };
