/** Public data types of the client. */
import type {
  EventName,
  EventPayload,
  EventSchemas,
  JsonValue,
  Message,
  ReplayFrame,
  ResetFrame,
} from '@parley/protocol/core';
import type { ParleyError } from './errors.js';

/** Connection states. `closed` is terminal. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/**
 * Local codes carried by `state` events for transitions no server close code explains. They are
 * never sent on the wire (the 3xxx range is registered-library space, unused by Parley servers).
 */
export const ClientCode = {
  /** `client.close()` was called. */
  ClientClosed: 3000,
  /** No frame arrived within the heartbeat timeout: the link was dead. */
  DeadLink: 3001,
  /** The runtime reported being offline. */
  Offline: 3002,
  /** The token provider threw. */
  TokenError: 3003,
  /** Connected (after a welcome). */
  Connected: 3004,
  /** A connect attempt started. */
  Connecting: 3005,
  /** No `welcome` within `welcomeTimeoutMs` of opening the socket. */
  WelcomeTimeout: 3006,
  /** A gap fill (`sync`) got no answer within `requestTimeoutMs`: resume on a new link. */
  SyncTimeout: 3007,
} as const;
export type ClientCode = (typeof ClientCode)[keyof typeof ClientCode];

/** Payload of the `state` event. */
export interface StateChange {
  from: ConnectionState;
  to: ConnectionState;
  /** A WebSocket close code (1xxx/4xxx from the server) or a {@link ClientCode}. */
  code: number;
  reason: string;
}

/** A stored message, as the server assigned it. */
export type StoredMessage = Message & { status: 'sent' };

/** A message sent from this client that the server has not stored (yet). */
export interface OptimisticMessage {
  status: 'pending' | 'failed';
  clientMsgId: string;
  conversationId: string;
  text: string;
  data?: JsonValue;
  senderId: string;
  kind: 'user';
  createdAt: number;
  seq?: undefined;
  id?: undefined;
  /** Why it failed (`status: 'failed'`). */
  error?: ParleyError;
  /** Sends a failed message again (same `clientMsgId`). */
  retry(): Promise<StoredMessage>;
}

/** What `conversation.messages` holds: stored messages in seq order, then optimistic ones in send order. */
export type ClientMessage = StoredMessage | OptimisticMessage;

/** Payload of a `reset` event: the conversation's local messages were dropped; refetch with `loadOlder`. */
export interface ResetEvent {
  conversationId: string;
  reason: ResetFrame['reason'];
  epoch: string;
  seq: number;
}

/** Payload of a `typing` event. */
export interface TypingEvent {
  conversationId: string;
  userId: string;
  typing: boolean;
  /** Everyone typing now. */
  users: readonly string[];
}

/** Payload of a `read` event. */
export interface ReadEvent {
  conversationId: string;
  userId: string;
  seq: number;
}

/** Presence of a contact. */
export interface Presence {
  userId: string;
  online: boolean;
  lastSeenAt?: number;
}

/** One row of the inbox. */
export interface InboxEntry {
  conversationId: string;
  lastMessage: ClientMessage | undefined;
  unreadCount: number;
  typingUsers: readonly string[];
}

export type { ReplayFrame };

/** A received custom event, typed by the app's event definitions. */
export type AppEvent<E extends EventSchemas> = {
  [K in EventName<E>]: {
    name: K;
    payload: EventPayload<E, K>;
    /** Sender's user id (or the server's id for events from server code). */
    from: string;
    conversationId?: string;
  };
}[EventName<E>];
