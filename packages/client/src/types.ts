/** Public data types of the client. */
import type {
  ConversationMeta,
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
  /**
   * A gap fill (`sync`) failed — no answer within `requestTimeoutMs`, or refused (e.g. rate
   * limited): the link is replaced and the resume replays or resets.
   */
  GapFillFailed: 3007,
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
  /** The seq of the message this one answers (`send(text, { replyTo })`). */
  replyTo?: number;
  seq?: undefined;
  id?: undefined;
  /** Why it failed (`status: 'failed'`). */
  error?: ParleyError;
  /**
   * Sends a failed message again: with the same `clientMsgId` (the hub de-duplicates), or under a
   * fresh one when it is older than the hub's dedupe window (`expired`).
   */
  retry(): Promise<StoredMessage>;
  /** Removes a failed message from `messages` (no-op while it is pending). */
  discard(): void;
}

/** What `conversation.messages` holds: stored messages in seq order, then optimistic ones in send order. */
export type ClientMessage = StoredMessage | OptimisticMessage;

/**
 * Payload of a `reset` event: the conversation's local messages were dropped (the hub could not
 * replay the gap); refetch with `loadOlder`. The React and Vue bindings do that for the
 * conversations they show.
 */
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
  /** The newest countable message: this device's newest unsent one, else the newest stored. */
  lastMessage: ClientMessage | undefined;
  unreadCount: number;
  typingUsers: readonly string[];
  /** Title, avatar, members, app data (the hub's `conversationMeta` hook), when it sends them. */
  meta: ConversationMeta | undefined;
}

export type { ConversationMeta, ReplayFrame };

/** What a UI reads from a conversation (the React and Vue bindings expose these fields). */
export interface ConversationSnapshot {
  /** Stored messages in seq order, then optimistic ones (`status: 'pending' | 'failed'`). */
  messages: readonly ClientMessage[];
  /** Users typing now (never the current user). */
  typingUsers: readonly string[];
  unreadCount: number;
  /** The current user's read position. */
  readSeq: number;
  /** False once `loadOlder` reached the beginning of the history. */
  hasMore: boolean;
  /** True while the user is a member (listed by the hub's `welcome` or `joined`). */
  joined: boolean;
  /** The last `reset` of the conversation, to show a notice ("earlier messages were reloaded"). */
  lastReset: ResetEvent | undefined;
  /** Title, avatar, members, app data, when the hub sends them. */
  meta: ConversationMeta | undefined;
}

/** True when two inbox lists hold the same rows (for UI bindings that keep snapshots stable). */
export function sameInbox(a: readonly InboxEntry[], b: readonly InboxEntry[]): boolean {
  return (
    a.length === b.length &&
    a.every((r, i) => {
      const o = b[i]!;
      return (
        r.conversationId === o.conversationId &&
        r.lastMessage === o.lastMessage &&
        r.unreadCount === o.unreadCount &&
        r.meta === o.meta &&
        sameList(r.typingUsers, o.typingUsers)
      );
    })
  );
}

/** True when two lists hold the same items, in order. */
export function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A received custom event of one name. */
export type EventOf<E extends EventSchemas, K extends EventName<E>> = Extract<
  AppEvent<E>,
  { name: K }
>;

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
