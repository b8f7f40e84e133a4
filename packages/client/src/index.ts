/**
 * @packageDocumentation
 * Parley client: one reliable WebSocket per user session, offline outbox, optimistic sends,
 * gap-free resume. See README.md.
 */

export {
  defineEvents,
  type EventInput,
  type EventName,
  type EventPayload,
  type EventSchemas,
  type JsonValue,
  type NoEvents,
} from '@parley/protocol/core';
export { backoffCap, backoffDelay } from './backoff.js';
export { type ClientEvents, createClient, ParleyClient } from './client.js';
export type { ReconnectInfo } from './connection.js';
export { Conversation, type ConversationEvents } from './conversation.js';
export type { Unsubscribe } from './emitter.js';
export {
  ClientClosedError,
  type ClientErrorCode,
  DisconnectedError,
  ExpiredError,
  OutboxFullError,
  ParleyError,
  ServerError,
  TimeoutError,
} from './errors.js';
export {
  browserLifecycle,
  type Lifecycle,
  type LifecycleSignal,
  manualLifecycle,
} from './lifecycle.js';
export {
  type ClientOptions,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_HEARTBEAT,
  DEFAULT_MAX_MESSAGES,
  DEFAULT_OUTBOX_MAX_ITEMS,
  DEFAULT_OUTBOX_MAX_RETRIES,
  DEFAULT_RECONNECT,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_TYPING,
  DEFAULT_WELCOME_TIMEOUT_MS,
  type HeartbeatOptions,
  type Logger,
  type OutboxOptions,
  type ReadOptions,
  type ReconnectOptions,
  type TokenProvider,
  type TypingOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from './options.js';
export {
  localStorageOutbox,
  memoryStorage,
  type OutboxItem,
  type OutboxStorage,
  type StorageLike,
} from './outbox-storage.js';
export {
  type AppEvent,
  ClientCode,
  type ClientMessage,
  type ConnectionState,
  type ConversationMeta,
  type ConversationSnapshot,
  type EventOf,
  type InboxEntry,
  type OptimisticMessage,
  type Presence,
  type ReadEvent,
  type ResetEvent,
  type StateChange,
  type StoredMessage,
  sameInbox,
  sameList,
  type TypingEvent,
} from './types.js';
