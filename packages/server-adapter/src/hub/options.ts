/**
 * Options of `createHub`, their defaults, and the hook types. Defaults live beside the options.
 */

import type { EventSchemas } from '@parley/protocol';
import {
  type ConversationMeta,
  Limits,
  type Message,
  type MessageKind,
  type NoEvents,
  type Profile,
} from '@parley/protocol';
import type { Engine, MessageDraft } from '../engines/types.js';
import type { Logger } from '../logger.js';

/** The transport-neutral view of the upgrade request, given to `authenticate` and `origins`. */
export interface RequestInfo {
  headers: Record<string, string | string[] | undefined>;
  /** Path and query of the upgrade request. */
  url: string;
  remoteAddress: string | undefined;
  /** Parsed `Cookie` header. */
  cookies: Record<string, string>;
  /** The `Origin` header, if any. */
  origin: string | undefined;
  /** Subprotocols the client offered in `Sec-WebSocket-Protocol`. */
  protocols: string[];
}

/** What `authenticate` returns for an accepted user. */
export interface AuthResult {
  userId: string;
  /** Public profile stored on the user's messages (name, avatarUrl). */
  profile?: Profile;
  /** When the credential expires (ms since epoch); the hub then asks for a fresh token in-band. */
  expiresAt?: number;
}

/** Input of `authenticate`. */
export interface AuthInput {
  /** The token from `hello` or from an in-band `auth` frame; absent when the client sent none. */
  token: string | undefined;
  request: RequestInfo;
  /** `hello` for a new connection, `refresh` for an in-band `auth`. */
  reason: 'hello' | 'refresh';
}

/** What `persist` may return to change the message before it is stored. */
export interface PersistResult {
  /** The app's own message id. */
  id?: string;
  text?: string;
  data?: Message['data'];
}

/**
 * Input of `authorizeOperation` and `persistOperation`: an operation a user asked for on a stored
 * message, before it is stored.
 */
export interface OperationRequest {
  /**
   * The operation without its seq: `kind` (`edit`, `delete` or `reaction`), `target` (the seq of
   * the message), `senderId` (who asks), for an edit the new `text`/`data`, for a reaction
   * `reaction: { emoji, on }`.
   */
  operation: MessageDraft;
  /** The target's current state (`senderId` is its author). */
  target: Message;
}

/** Input of `onOfflineRecipients`. */
export interface OfflineRecipients {
  conversationId: string;
  message: Message;
  /** Members (other than the sender) without a live socket on any process. */
  userIds: string[];
}

/** Input of `onRead`. */
export interface ReadReceipt {
  conversationId: string;
  userId: string;
  seq: number;
}

/** Second argument of `conversationMeta`: who the metadata is for. */
export interface ConversationMetaContext {
  /** The user whose inbox is being built (a session start or `hub.conversationSummary`). */
  userId: string;
}

/** Input of `onStored`. */
export interface StoredMessage {
  /** The stored message, with the seq the engine assigned. */
  message: Message;
  /** The connection that sent it; absent for `hub.publish`. */
  connectionId?: string;
}

/** Options of `createHub`. */
export interface HubOptions<E extends EventSchemas = NoEvents> {
  /**
   * Identifies the user from the `hello` token and/or the upgrade request (cookies, headers).
   * Return `null` to refuse (close 4401: the client refreshes its token), throw `ForbiddenError`
   * to refuse for good (close 4403). Any other throw closes with 1011 and is logged.
   */
  authenticate: (input: AuthInput) => Promise<AuthResult | null> | AuthResult | null;
  /** Every conversation the user belongs to; the socket is subscribed to all of them. */
  conversationsOf: (userId: string) => Promise<readonly string[]> | readonly string[];
  /**
   * Membership check run on every conversation frame (send, typing, read, sync, history, event).
   * @default membership as known from `conversationsOf` at connect time plus `hub.join`/`hub.leave`
   */
  isMember?: (userId: string, conversationId: string) => Promise<boolean> | boolean;
  /**
   * Members of a conversation, for offline recipients, presence and user-addressed events.
   * @default the members the engine has recorded from `conversationsOf` and `hub.join`
   */
  membersOf?: (conversationId: string) => Promise<readonly string[]> | readonly string[];
  /**
   * Called before a message is stored (not for retries the hub recognises). May return changes,
   * or throw `MessageRejectedError` to reject it (the sender gets a `rejected` error).
   * @default store as is
   */
  persist?: (draft: MessageDraft) => Promise<PersistResult | undefined> | PersistResult | undefined;
  /**
   * Called once a message (or an operation: edit, delete, reaction) is stored (not for a
   * recognised retry), with the seq it got, so the app
   * can line its own rows (from `persist`) up with Parley's seqs. Runs after the fan-out started
   * and never delays the sender's `ack`; what it throws is logged.
   * @default none
   */
  onStored?: (stored: StoredMessage) => Promise<void> | void;
  /**
   * Metadata (title, avatar, members, app data) of conversations, for the inbox: delivered in the
   * `summary` frames after `welcome` and by `hub.conversationSummary`. Called once per session
   * start with every conversation of the user; ids missing from the result get no metadata. An
   * invalid entry (see `ConversationMeta` in `@parley/protocol`) is dropped and logged; a failure
   * sends the inbox without metadata. Push changes with `hub.updateConversation`.
   * @default no metadata
   */
  conversationMeta?: (
    conversationIds: readonly string[],
    ctx: ConversationMetaContext,
  ) =>
    | Promise<Record<string, ConversationMeta | undefined>>
    | Record<string, ConversationMeta | undefined>;
  /**
   * Decides whether `operation.senderId` may apply the operation (edit, delete, reaction) to
   * `target`: `true` allows, `false` refuses with a `forbidden` error, `undefined` applies the
   * default rule. Throw `MessageRejectedError` to refuse with a reason (a `rejected` error), or
   * `ForbiddenError` to refuse with a reason as `forbidden`. Not
   * called for retries the hub recognises. A throw of anything else answers `unavailable`.
   * @default only the author may edit or delete a message; every member may react
   */
  authorizeOperation?: (
    input: OperationRequest,
  ) => Promise<boolean | undefined> | boolean | undefined;
  /**
   * Mirrors an operation into the app's database, like `persist` for sends: called once per
   * operation after `authorizeOperation` and before it is stored (not for retries the hub
   * recognises). May return an `id`, and for an edit a new `text`/`data`; throw
   * `MessageRejectedError` to refuse it (`rejected`), `ForbiddenError` (`forbidden`: the app
   * decides who may change what), `UnavailableError` (or anything else) when
   * the database is down (`unavailable`: the client retries with the same `clientMsgId`).
   * @default store as is
   */
  persistOperation?: (
    input: OperationRequest,
  ) => Promise<PersistResult | undefined> | PersistResult | undefined;
  /** Called when a user's read position advances. @default none */
  onRead?: (receipt: ReadReceipt) => Promise<void> | void;
  /** Called after a message is stored with the members that had no live socket. @default none */
  onOfflineRecipients?: (input: OfflineRecipients) => Promise<void> | void;
  /** The app's custom events, from `defineEvents`. @default no custom events */
  events?: E;
  /** Storage and fan-out. @default createMemoryEngine() */
  engine?: Engine;
  /** @default a silent logger */
  logger?: Logger;
  /**
   * Allowed `Origin` values (exact match), or a predicate. Checked at upgrade: a refused origin
   * gets HTTP 403 and no WebSocket. Requests without an `Origin` header (non-browser clients)
   * are allowed unless the predicate says otherwise.
   * @default every origin
   */
  origins?: readonly string[] | ((origin: string | undefined, request: RequestInfo) => boolean);
  /** Sender id and `from` of messages/events sent by server code. @default 'system' */
  systemUserId?: string;
  /**
   * Called on discrete events, to feed counters and histograms (Prometheus, StatsD, OpenTelemetry).
   * Never called per frame or per delivery, so it costs nothing on the fan-out path; what a hook
   * throws is logged and ignored. Use `hub.stats()` for totals.
   * @default none
   */
  metrics?: (event: MetricEvent) => void;
  limits?: LimitOptions;
  heartbeat?: HeartbeatOptions;
  backpressure?: BackpressureOptions;
  presence?: PresenceOptions;
  typing?: {
    /** How long receivers show "typing" without a refresh. @default 6000 */
    ttlMs?: number;
  };
  auth?: {
    /** The `reauth` request is sent this long before the credential expires. @default 60_000 */
    refreshLeadMs?: number;
    /**
     * After an accepted `auth`, the next `reauth` comes at least this much later (never again
     * when the credential expires first), so a token provider that returns the same cached token
     * is not asked again at once.
     * @default the smaller of 10_000 and `refreshLeadMs / 2`
     */
    minRefreshIntervalMs?: number;
  };
  shutdown?: ShutdownOptions;
}

export interface LimitOptions {
  /** Largest inbound frame in bytes; bigger ones are closed with 1009. @default 65536 */
  maxFrameBytes?: number;
  /** No `hello` within this time: close 4408. @default 10_000 */
  helloTimeoutMs?: number;
  /**
   * From `hello` to `welcome` (authenticate, conversationsOf, the engine): a session that has not
   * started by then is closed 1013 and the client retries with backoff. Must be shorter than the
   * engine's control record lifetime (10 minutes by default).
   * @default 15_000
   */
  sessionStartTimeoutMs?: number;
  /**
   * Deadline of the app's `persist` hook for one send. Past it the send is answered `unavailable`
   * (the client retries with the same `clientMsgId`) and its idempotency lease is dropped; a
   * hook that finishes later is ignored, so `persist` must be idempotent by `clientMsgId`. The
   * lease a send holds meanwhile is this plus 5 s: if the process running it dies, a retry on
   * another process takes over after at most that long (it is told how long to wait).
   * @default 10_000
   */
  persistTimeoutMs?: number;
  /**
   * Deadline of the app's other hooks called while the hub handles a frame (`isMember`,
   * `onRead`, `authorizeOperation`, `membersOf`, `conversationMeta`). Past it the frame is
   * answered `unavailable` (the client retries; `conversationMeta` is left out of the summary),
   * the socket's next frames go on, and whatever the hook does later is ignored. Session start
   * has its own deadline (`sessionStartTimeoutMs`).
   * @default 10_000
   */
  hookTimeoutMs?: number;
  /** Conversations per user; more from `conversationsOf` closes with 4403. @default 5000 */
  maxConversationsPerUser?: number;
  /**
   * Sockets one user may hold at once, on all processes (counted by the engine's presence). One
   * more is closed 4409 before `welcome`; the client retries with a long backoff.
   * @default 32
   */
  maxSocketsPerUser?: number;
  /** Messages per replay; a larger gap gets `reset`. @default 1000 */
  maxReplay?: number;
  /**
   * Largest frame the hub builds from stored history, in UTF-8 bytes: a replay that would be
   * larger is a `reset` (`trimmed`), a `history` page is cut to the newest messages that fit
   * (`hasMore: true`). At most half of `backpressure.hardLimitBytes` (the smaller wins).
   * @default 524_288
   */
  maxOutboundFrameBytes?: number;
  /** Default `history` page size. @default 50 */
  historyPageSize?: number;
  rate?: {
    /** Token bucket size (burst), in frames. @default 60 */
    burst?: number;
    /** Refill rate, in frames per second. @default 20 */
    perSecond?: number;
    /** Rate-limited frames within 10 s that count as a flood: close 4429. @default 100 */
    floodThreshold?: number;
  };
}

export interface HeartbeatOptions {
  /**
   * Server ping interval: pings are at most this far apart. Each goes out at a random point of
   * the interval's last fifth, so sockets that connected together do not ping together.
   * @default 25_000
   */
  intervalMs?: number;
  /** A ping not answered within this time terminates the link. @default 10_000 */
  timeoutMs?: number;
}

export interface BackpressureOptions {
  /** Past this many buffered bytes, typing and presence frames are dropped. @default 262_144 */
  softLimitBytes?: number;
  /**
   * The socket's byte budget: what the hub holds for it — its send buffer, frames buffered before
   * `welcome`, live messages held back during a replay or join, and a replay or history page being
   * sent — never exceeds it. A socket that would pass it is closed with 1013.
   * @default 1_048_576
   */
  hardLimitBytes?: number;
}

export interface PresenceOptions {
  /** A user stays online this long after the last socket closed. @default 5000 */
  graceMs?: number;
}

export interface ShutdownOptions {
  /** Sockets closed per batch on `hub.close()`. @default 200 */
  batchSize?: number;
  /** Pause between batches. @default 50 */
  batchIntervalMs?: number;
  /** `shutdown.retryAfterMs` is uniformly jittered in [0, this). @default 5000 */
  retryJitterMs?: number;
  /** Sockets that did not finish the close handshake by then are terminated. @default 3000 */
  closeTimeoutMs?: number;
}

/** Every option resolved to a value. */
export interface ResolvedConfig {
  maxFrameBytes: number;
  helloTimeoutMs: number;
  sessionStartTimeoutMs: number;
  persistTimeoutMs: number;
  hookTimeoutMs: number;
  maxConversationsPerUser: number;
  maxSocketsPerUser: number;
  maxReplay: number;
  /** Effective bound of frames built from history (see `LimitOptions.maxOutboundFrameBytes`). */
  maxOutboundFrameBytes: number;
  /**
   * Largest stored message (JSON bytes) `hub.publish` or a `persist` result may produce: a client
   * send of `maxFrameBytes` plus the fields the hub adds always fits.
   */
  maxMessageBytes: number;
  historyPageSize: number;
  rateBurst: number;
  ratePerSecond: number;
  floodThreshold: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  softLimitBytes: number;
  hardLimitBytes: number;
  graceMs: number;
  typingTtlMs: number;
  refreshLeadMs: number;
  minRefreshIntervalMs: number;
  batchSize: number;
  batchIntervalMs: number;
  retryJitterMs: number;
  closeTimeoutMs: number;
  systemUserId: string;
}

/** Applies defaults. */
export function resolveConfig(o: HubOptions<EventSchemas>): ResolvedConfig {
  const maxFrameBytes = o.limits?.maxFrameBytes ?? Limits.MAX_FRAME_BYTES;
  const hardLimitBytes = o.backpressure?.hardLimitBytes ?? 1_048_576;
  return {
    maxFrameBytes,
    helloTimeoutMs: o.limits?.helloTimeoutMs ?? 10_000,
    sessionStartTimeoutMs: o.limits?.sessionStartTimeoutMs ?? 15_000,
    persistTimeoutMs: o.limits?.persistTimeoutMs ?? 10_000,
    hookTimeoutMs: o.limits?.hookTimeoutMs ?? 10_000,
    maxConversationsPerUser: o.limits?.maxConversationsPerUser ?? 5000,
    maxSocketsPerUser: o.limits?.maxSocketsPerUser ?? 32,
    maxReplay: o.limits?.maxReplay ?? 1000,
    maxOutboundFrameBytes: Math.min(
      o.limits?.maxOutboundFrameBytes ?? 524_288,
      Math.floor(hardLimitBytes / 2),
    ),
    maxMessageBytes: maxFrameBytes + 16_384,
    historyPageSize: o.limits?.historyPageSize ?? 50,
    rateBurst: o.limits?.rate?.burst ?? 60,
    ratePerSecond: o.limits?.rate?.perSecond ?? 20,
    floodThreshold: o.limits?.rate?.floodThreshold ?? 100,
    heartbeatIntervalMs: o.heartbeat?.intervalMs ?? 25_000,
    heartbeatTimeoutMs: o.heartbeat?.timeoutMs ?? 10_000,
    softLimitBytes: o.backpressure?.softLimitBytes ?? 262_144,
    hardLimitBytes,
    graceMs: o.presence?.graceMs ?? 5000,
    typingTtlMs: o.typing?.ttlMs ?? 6000,
    refreshLeadMs: o.auth?.refreshLeadMs ?? 60_000,
    minRefreshIntervalMs:
      o.auth?.minRefreshIntervalMs ?? Math.min(10_000, (o.auth?.refreshLeadMs ?? 60_000) / 2),
    batchSize: o.shutdown?.batchSize ?? 200,
    batchIntervalMs: o.shutdown?.batchIntervalMs ?? 50,
    retryJitterMs: o.shutdown?.retryJitterMs ?? 5000,
    closeTimeoutMs: o.shutdown?.closeTimeoutMs ?? 3000,
    systemUserId: o.systemUserId ?? 'system',
  };
}

/** What the `metrics` hook receives. */
export type MetricEvent =
  /** A session was welcomed; `durationMs` from the upgrade to `welcome`. */
  | { type: 'session.start'; userId: string; conversations: number; durationMs: number }
  /** A connection ended, with the close code the hub sent or the peer's. */
  | { type: 'connection.close'; code: number; durationMs: number; userId?: string }
  /**
   * A message or an operation (`kind` edit/delete/reaction) was stored (not a recognised retry);
   * `durationMs` covers hooks and the store.
   */
  | { type: 'message.stored'; conversationId: string; kind: MessageKind; durationMs: number }
  /** An app hook or the engine failed (the client got `unavailable`, or the session was closed). */
  | { type: 'hook.error'; hook: string }
  /** A frame was refused by the rate limit; `flood` when the connection was closed 4429 for it. */
  | { type: 'rate_limited'; userId?: string; flood: boolean }
  /**
   * A slow consumer was closed 1013: its byte budget (`backpressure.hardLimitBytes`) would have
   * been exceeded; `bufferedAmount` is what the hub held for it (send buffer plus held frames).
   */
  | { type: 'slow_consumer'; userId?: string; bufferedAmount: number }
  /** A connection stopped answering pings and was terminated. */
  | { type: 'heartbeat.timeout'; userId?: string }
  /** A resume (hello cursor or `sync`) was answered with a complete `replay` of `messages`. */
  | { type: 'replay'; conversationId: string; messages: number }
  /** A `reset` was sent: at a resume, or before a live message from a new epoch. */
  | { type: 'reset'; conversationId: string; reason: 'trimmed' | 'epoch_changed' };
