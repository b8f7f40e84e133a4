/**
 * Client options, each documented next to its default (tRPC wsLink style). `resolveOptions`
 * fills in the defaults once, so the rest of the client reads plain numbers.
 */
import type { EventSchemas, RawData, ServerFrame } from '@parley/protocol/core';
import WebSocketImpl from 'isomorphic-ws';
import { decodeFrame } from './decode.js';
import { browserLifecycle, type Lifecycle } from './lifecycle.js';
import type { OutboxStorage } from './outbox-storage.js';
import { noop } from './util.js';

/** A token, or a (sync or async) function returning one. `undefined` when a cookie/header authenticates. */
export type TokenProvider = string | (() => string | undefined | Promise<string | undefined>);

/** The part of a WebSocket the client uses; the browser's, `ws` and `isomorphic-ws` all fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // Handler parameters are `never` so that both the DOM's and `ws`'s event types are accepted.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** A WebSocket constructor (`globalThis.WebSocket`, `ws`, `isomorphic-ws`, a mock). */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => WebSocketLike;

/** A pino-compatible subset: the client logs through this, never through `console`. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Reconnect policy: exponential backoff with full jitter. */
export interface ReconnectOptions {
  /** Base delay. @default 500 */
  minDelayMs?: number;
  /** Cap of the backoff window. @default 30_000 */
  maxDelayMs?: number;
  /** Growth factor of the window per failed attempt. @default 2 */
  factor?: number;
  /**
   * The attempt counter resets only after a link stayed open this long, so a server that accepts
   * and immediately drops connections does not cause a tight reconnect loop. @default 5_000
   */
  minUptimeMs?: number;
  /** Extra attempts added to the window on overload codes (1011, 1013, 4429). @default 3 */
  overloadPenalty?: number;
}

/** App-level heartbeat. A half-open link is detected within `intervalMs + timeoutMs`. */
export interface HeartbeatOptions {
  /** Send a `ping` after this long without any inbound frame. @default 20_000 */
  intervalMs?: number;
  /** Declare the link dead when nothing arrives this long after a `ping`. @default 10_000 */
  timeoutMs?: number;
}

/** Typing indicator timing. */
export interface TypingOptions {
  /** At most one `start` frame per this window while the user keeps typing. @default 3_000 */
  throttleMs?: number;
  /** Send `stop` after this long without a `typing()` call. @default 5_000 */
  idleMs?: number;
  /** Remote typing expires after this long without a refresh, when the frame carries no ttl. @default 6_000 */
  expireMs?: number;
}

/**
 * Read receipts: `markRead` updates `readSeq` and emits `read` at once; the `read` frame (the
 * newest seq) goes out after a quiet period, so marking read on every received message costs the
 * hub (and every member) one frame per burst instead of one per message.
 */
export interface ReadOptions {
  /** Send the `read` frame after this long without another `markRead` (0: on the next tick). @default 300 */
  delayMs?: number;
  /** While `markRead` keeps being called, send at least once per this long. @default 1_000 */
  maxDelayMs?: number;
}

/**
 * Offline outbox. Sends go out in send order per conversation (one in flight per conversation),
 * paced by the hub's advertised rate limit (`welcome.limits.rate`).
 */
export interface OutboxOptions {
  /** Most unsent messages held; a send beyond it rejects with `OutboxFullError`. @default 1_000 */
  maxItems?: number;
  /**
   * Retries of one send after a retryable failure (`unavailable`, `internal`, `rate_limited`,
   * `unauthenticated`, no ack within `ackTimeoutMs`, a 1009 close); one more fails it with the
   * last error (`status: 'failed'`, `retry()` starts over). A link dropping is not a failure.
   * @default 8
   */
  maxRetries?: number;
  /** Where unsent messages survive a page reload (e.g. `localStorageOutbox()`). @default in memory only */
  storage?: OutboxStorage;
}

/** Options of {@link createClient}. */
export interface ClientOptions<E extends EventSchemas> {
  /** WebSocket URL of the hub, e.g. `wss://example.com/parley`. */
  url: string;
  /** Credential, or a provider called before every (re)connect and on the server's `reauth`. @default undefined (cookie/header auth) */
  token?: TokenProvider;
  /** WebSocket implementation. @default isomorphic-ws (the browser's WebSocket, or `ws` in Node) */
  WebSocket?: WebSocketConstructor;
  /** @see ReconnectOptions */
  reconnect?: ReconnectOptions;
  /** @see HeartbeatOptions */
  heartbeat?: HeartbeatOptions;
  /** Re-send an unacknowledged message (same `clientMsgId`) after this long. @default 10_000 */
  ackTimeoutMs?: number;
  /**
   * Answer timeout of requests: `loadOlder` (history), `emit` (custom events) and gap fills (an
   * unanswered `sync` drops the link: the resume on a new one replays or resets). @default 15_000
   */
  requestTimeoutMs?: number;
  /**
   * From opening the socket to the hub's `welcome`: a hung upgrade or server-side authentication
   * is given up (state event code 3006) and retried with backoff. @default 15_000
   */
  welcomeTimeoutMs?: number;
  /**
   * Most stored messages a conversation keeps in `messages` (the newest). Older ones are dropped as
   * new ones arrive; `loadOlder` pages them back (beyond this bound, until the next message).
   * @default 1_000
   */
  maxMessages?: number;
  /**
   * At every `synced`, `open()` this many conversations — the newest by last activity — so their
   * newest page is loaded before the user opens them. The others hold no messages until opened
   * (`conversation.open()`, `loadOlder`): a cold start costs O(conversations). @default 0
   */
  prefetch?: number;
  /** @see OutboxOptions */
  outbox?: OutboxOptions;
  /** @see TypingOptions */
  typing?: TypingOptions;
  /** @see ReadOptions */
  read?: ReadOptions;
  /** The app's custom events (`defineEvents(...)`); received events are validated against them. @default {} */
  events?: E;
  /** @default a logger that discards everything */
  logger?: Logger;
  /** Connect at once. With `false`, call `client.connect()`. @default true */
  autoConnect?: boolean;
  /** Online/visibility signals. @default window/document listeners when present, none in Node */
  lifecycle?: Lifecycle;
  /** Random number in [0, 1), for jitter. @default Math.random */
  random?: () => number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Sent in `hello.client`. @default { name: '@parley/client' } */
  clientInfo?: { name?: string; version?: string };
  /**
   * Decodes a server frame (throws `ProtocolError` to drop it). The default checks the structure
   * of every field the client reads without Zod; pass `decodeServerFrame` from `@parley/protocol`
   * for full schema validation (adds ~9 KB min+gzip to a browser bundle).
   * @default a structural decoder (`JSON.parse` + field type checks)
   */
  decode?: (data: RawData) => ServerFrame;
}

export const DEFAULT_RECONNECT = {
  minDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  minUptimeMs: 5_000,
  overloadPenalty: 3,
} as const satisfies Required<ReconnectOptions>;

export const DEFAULT_HEARTBEAT = {
  intervalMs: 20_000,
  timeoutMs: 10_000,
} as const satisfies Required<HeartbeatOptions>;

export const DEFAULT_TYPING = {
  throttleMs: 3_000,
  idleMs: 5_000,
  expireMs: 6_000,
} as const satisfies Required<TypingOptions>;

export const DEFAULT_ACK_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_OUTBOX_MAX_ITEMS = 1_000;
export const DEFAULT_OUTBOX_MAX_RETRIES = 8;
export const DEFAULT_WELCOME_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_MESSAGES = 1_000;

/** A logger that discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Options with every default filled in. */
export interface ResolvedOptions<E extends EventSchemas> {
  url: string;
  token: TokenProvider | undefined;
  WebSocket: WebSocketConstructor;
  reconnect: Required<ReconnectOptions>;
  heartbeat: Required<HeartbeatOptions>;
  typing: Required<TypingOptions>;
  read: Required<ReadOptions>;
  ackTimeoutMs: number;
  requestTimeoutMs: number;
  welcomeTimeoutMs: number;
  maxMessages: number;
  prefetch: number;
  outboxMaxItems: number;
  outboxMaxRetries: number;
  outboxStorage: OutboxStorage | undefined;
  events: E | undefined;
  logger: Logger;
  autoConnect: boolean;
  lifecycle: Lifecycle;
  random: () => number;
  now: () => number;
  clientInfo: { name?: string; version?: string };
  decode: (data: RawData) => ServerFrame;
}

export function resolveOptions<E extends EventSchemas>(o: ClientOptions<E>): ResolvedOptions<E> {
  return {
    url: o.url,
    token: o.token,
    WebSocket: o.WebSocket ?? WebSocketImpl,
    reconnect: { ...DEFAULT_RECONNECT, ...o.reconnect },
    heartbeat: { ...DEFAULT_HEARTBEAT, ...o.heartbeat },
    typing: { ...DEFAULT_TYPING, ...o.typing },
    read: { delayMs: 300, maxDelayMs: 1_000, ...o.read },
    ackTimeoutMs: o.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
    requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    welcomeTimeoutMs: o.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS,
    maxMessages: o.maxMessages ?? DEFAULT_MAX_MESSAGES,
    prefetch: o.prefetch ?? 0,
    outboxMaxItems: o.outbox?.maxItems ?? DEFAULT_OUTBOX_MAX_ITEMS,
    outboxMaxRetries: o.outbox?.maxRetries ?? DEFAULT_OUTBOX_MAX_RETRIES,
    outboxStorage: o.outbox?.storage,
    events: o.events,
    logger: o.logger ?? silentLogger,
    autoConnect: o.autoConnect ?? true,
    lifecycle: o.lifecycle ?? browserLifecycle(),
    random: o.random ?? Math.random,
    now: o.now ?? Date.now,
    clientInfo: o.clientInfo ?? { name: '@parley/client' },
    decode: o.decode ?? decodeFrame,
  };
}
