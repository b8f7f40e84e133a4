/** The hooks. Every one reads through `useSyncExternalStore` and is SSR-safe. */
import type {
  ConnectionState,
  Conversation,
  InboxEntry,
  ParleyClient,
  Presence,
  StoredMessage,
  Unsubscribe,
} from '@parley/client';
import type { EventName, EventSchemas, JsonValue } from '@parley/protocol/core';
import { useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { useParleyClientOrNull } from './context.js';
import {
  type ConversationSnapshot,
  conversationStore,
  EMPTY_CONVERSATION,
  EMPTY_INBOX,
  inboxStore,
  presenceStore,
} from './stores.js';
import type { EventOf, RegisteredEvents } from './types.js';

const noSubscription = (): Unsubscribe => () => {};
const serverState = (): ConnectionState => 'connecting';
const serverConversation = (): ConversationSnapshot => EMPTY_CONVERSATION;
const serverInbox = (): readonly InboxEntry[] => EMPTY_INBOX;
const serverPresence = (): Presence | undefined => undefined;

interface StateStore {
  subscribe: (listener: () => void) => Unsubscribe;
  get: () => ConnectionState;
}

const stateStores = new WeakMap<object, StateStore>();

function stateStore<E extends EventSchemas>(client: ParleyClient<E>): StateStore {
  let s = stateStores.get(client);
  if (s === undefined) {
    s = { subscribe: (l) => client.on('state', l), get: () => client.state };
    stateStores.set(client, s);
  }
  return s;
}

/** The connection state (`connecting` on the server and before the client exists). */
export function useConnectionState(): ConnectionState {
  const client = useParleyClientOrNull();
  const store = client === null ? undefined : stateStore(client);
  return useSyncExternalStore(
    store?.subscribe ?? noSubscription,
    store?.get ?? serverState,
    serverState,
  );
}

/** What {@link useConversation} returns. Stable between renders unless something changed. */
export interface UseConversationResult<E extends EventSchemas = RegisteredEvents>
  extends ConversationSnapshot {
  /** The handle (`null` on the server and before the client exists). */
  conversation: Conversation<E> | null;
  /** Sends a message (`replyTo`: the seq it answers): optimistic at once, resolves with the stored message. */
  send(text: string, options?: { data?: JsonValue; replyTo?: number }): Promise<StoredMessage>;
  /** Edits stored message `seq`: shown at once, rolled back if the hub refuses (typed error). */
  edit(seq: number, text: string, options?: { data?: JsonValue }): Promise<StoredMessage>;
  /** Deletes stored message `seq` (a tombstone), optimistically. */
  delete(seq: number): Promise<StoredMessage>;
  /** Adds or removes (`on`; default: toggles) this user's reaction, optimistically. */
  react(seq: number, emoji: string, on?: boolean): Promise<StoredMessage>;
  /** Call on every keystroke (throttled by the client). */
  typing(): void;
  stopTyping(): void;
  /** Marks read up to `seq` (default: the newest message). */
  markRead(seq?: number): void;
  /** Loads up to `limit` older messages. */
  loadOlder(limit?: number): Promise<readonly StoredMessage[]>;
}

const notReady = () =>
  Promise.reject(new Error('Parley: no client yet (server render or before mount)'));
const noop = () => {};

/**
 * A conversation: its messages (optimistic ones included), typing users, unread count and the
 * actions. Components reading the same conversation share one listener on it. After a `reset`
 * (the hub could not replay what was missed) the newest messages are paged back in and
 * `lastReset` says so, for a notice. The handle is the same across leave and rejoin.
 */
export function useConversation<E extends EventSchemas = RegisteredEvents>(
  conversationId: string,
): UseConversationResult<E> {
  const client = useParleyClientOrNull<E>();
  // `client.conversation(id)` returns the registry's handle (created once, no I/O).
  const conv = useMemo(
    () => (client === null ? null : client.conversation(conversationId)),
    [client, conversationId],
  );
  const store = conv === null ? undefined : conversationStore(conv);
  const snap = useSyncExternalStore(
    store?.subscribe ?? noSubscription,
    store?.getSnapshot ?? serverConversation,
    serverConversation,
  );
  const actions = useMemo(
    () =>
      conv === null
        ? {
            send: notReady,
            edit: notReady,
            delete: notReady,
            react: notReady,
            typing: noop,
            stopTyping: noop,
            markRead: noop,
            loadOlder: notReady,
          }
        : {
            send: (text: string, options?: { data?: JsonValue; replyTo?: number }) =>
              conv.send(text, options),
            edit: (seq: number, text: string, options?: { data?: JsonValue }) =>
              conv.edit(seq, text, options),
            delete: (seq: number) => conv.delete(seq),
            react: (seq: number, emoji: string, on?: boolean) => conv.react(seq, emoji, on),
            typing: () => conv.typing(),
            stopTyping: () => conv.stopTyping(),
            markRead: (seq?: number) => conv.markRead(seq),
            loadOlder: (limit?: number) => conv.loadOlder(limit),
          },
    [conv],
  );
  return useMemo(() => ({ ...snap, ...actions, conversation: conv }), [snap, actions, conv]);
}

/** One row per joined conversation, newest activity first (`[]` on the server). */
export function useInbox(): readonly InboxEntry[] {
  const client = useParleyClientOrNull();
  const store = client === null ? undefined : inboxStore(client);
  return useSyncExternalStore(
    store?.subscribe ?? noSubscription,
    store?.getSnapshot ?? serverInbox,
    serverInbox,
  );
}

/** Presence of a contact (`undefined` until known, and on the server). */
export function usePresence(userId: string): Presence | undefined {
  const client = useParleyClientOrNull();
  const store = client === null ? undefined : presenceStore(client, userId);
  return useSyncExternalStore(
    store?.subscribe ?? noSubscription,
    store?.getSnapshot ?? serverPresence,
    serverPresence,
  );
}

/** Options of {@link useParleyEvent}. */
export interface UseParleyEventOptions {
  /** Listen to events sent to this conversation instead of events sent to the user. */
  conversationId?: string;
}

/**
 * Calls `handler` for every custom event `name` (validated with the app's schemas and typed by
 * the registered events). The latest `handler` is always called; it never resubscribes because
 * the handler changed.
 */
export function useParleyEvent<
  E extends EventSchemas = RegisteredEvents,
  K extends EventName<E> = EventName<E>,
>(name: K, handler: (event: EventOf<E, K>) => void, options: UseParleyEventOptions = {}): void {
  const client = useParleyClientOrNull<E>();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  const { conversationId } = options;
  useEffect(() => {
    if (client === null) return;
    const listener = (e: { name: string }) => {
      if (e.name === name) latest.current(e as EventOf<E, K>);
    };
    return conversationId === undefined
      ? client.on('event', listener)
      : client.conversation(conversationId).on('event', listener);
  }, [client, name, conversationId]);
}
