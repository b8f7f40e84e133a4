/**
 * Composables returning refs. Each one holds its listeners only while live: in a component, from
 * `onMounted` (so server rendering subscribes nothing and opens no socket) until its scope is
 * disposed (`onScopeDispose`, i.e. unmount); outside a component (a bare `effectScope`), from
 * the call until the scope stops. Values are read synchronously first, so the first render —
 * on the server too — shows the current state.
 */
import {
  type ClientMessage,
  type ConnectionState,
  type Conversation,
  type ConversationMeta,
  type InboxEntry,
  type Presence,
  type ResetEvent,
  type StoredMessage,
  sameInbox,
  sameList,
} from '@parley/client';
import type { EventName, EventSchemas, JsonValue } from '@parley/protocol/core';
import {
  computed,
  effectScope,
  getCurrentInstance,
  type MaybeRefOrGetter,
  onMounted,
  onScopeDispose,
  type Ref,
  type ShallowRef,
  shallowRef,
  toValue,
  triggerRef,
  watch,
} from 'vue';
import { useParley } from './plugin.js';
import type { EventOf, RegisteredEvents } from './types.js';

/** Runs `start` once live (see the file comment) inside a scope stopped with the caller's. */
function whenLive(start: () => void): void {
  const scope = effectScope(true);
  const run = () => scope.run(start);
  if (getCurrentInstance() === null) run();
  else onMounted(run);
  onScopeDispose(() => scope.stop());
}

/** The connection state, as a ref. */
export function useConnectionState(): Readonly<Ref<ConnectionState>> {
  const client = useParley();
  const state = shallowRef(client.state);
  whenLive(() => {
    client.connect();
    state.value = client.state;
    onScopeDispose(
      client.on('state', () => {
        state.value = client.state;
      }),
    );
  });
  return state;
}

/** What {@link useConversation} returns. */
export interface UseConversationReturn<E extends EventSchemas = RegisteredEvents> {
  /** The handle; triggered on every change (`conversation.value.seq`, `.reads`, … are reactive). */
  conversation: Readonly<ShallowRef<Conversation<E>>>;
  /** Stored messages in seq order, then optimistic ones (`status: 'pending' | 'failed'`). */
  messages: Readonly<ShallowRef<readonly ClientMessage[]>>;
  /** Users typing now (never the current user). */
  typingUsers: Readonly<ShallowRef<readonly string[]>>;
  unreadCount: Readonly<Ref<number>>;
  readSeq: Readonly<Ref<number>>;
  hasMore: Readonly<Ref<boolean>>;
  /** True while the user is a member (the handle stays the same across leave and rejoin). */
  joined: Readonly<Ref<boolean>>;
  /** The last `reset` of the conversation (its newest messages were paged back in): show a notice. */
  lastReset: Readonly<ShallowRef<ResetEvent | undefined>>;
  /** Title, avatar, members and app data, when the hub sends them. */
  meta: Readonly<ShallowRef<ConversationMeta | undefined>>;
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
  loadOlder(limit?: number): Promise<readonly StoredMessage[]>;
}

/**
 * A conversation as refs, updated on its `update` event. `id` may be a ref or a getter. Live, it
 * opens the conversation (`conversation.open()`: its newest page is loaded, and paged back in
 * after a `reset` — `lastReset` says so).
 */
export function useConversation<E extends EventSchemas = RegisteredEvents>(
  id: MaybeRefOrGetter<string>,
): UseConversationReturn<E> {
  const client = useParley<E>();
  const handle = computed(() => client.conversation(toValue(id)));
  const conversation = shallowRef(handle.value);
  const messages = shallowRef(handle.value.messages);
  const typingUsers = shallowRef(handle.value.typingUsers);
  const unreadCount = shallowRef(handle.value.unreadCount);
  const readSeq = shallowRef(handle.value.readSeq);
  const hasMore = shallowRef(handle.value.hasMore);
  const joined = shallowRef(handle.value.joined);
  const lastReset = shallowRef(handle.value.lastReset);
  const meta = shallowRef(handle.value.meta);

  const refresh = (c: Conversation<E>) => {
    if (conversation.value !== c) conversation.value = c;
    else triggerRef(conversation);
    messages.value = c.messages; // a new array only after a change
    const typing = c.typingUsers;
    if (!sameList(typing, typingUsers.value)) typingUsers.value = typing;
    unreadCount.value = c.unreadCount;
    readSeq.value = c.readSeq;
    hasMore.value = c.hasMore;
    joined.value = c.joined;
    lastReset.value = c.lastReset;
    meta.value = c.meta;
  };

  whenLive(() => {
    client.connect();
    watch(
      handle,
      (c, _old, onCleanup) => {
        refresh(c);
        onCleanup(c.on('update', () => refresh(c)));
        // Loads the newest page (once: concurrent loads share one request), and again after a reset.
        c.open().catch(() => {});
      },
      { immediate: true },
    );
  });

  return {
    conversation,
    messages,
    typingUsers,
    unreadCount,
    readSeq,
    hasMore,
    joined,
    lastReset,
    meta,
    send: (text, options) => handle.value.send(text, options),
    edit: (seq, text, options) => handle.value.edit(seq, text, options),
    delete: (seq) => handle.value.delete(seq),
    react: (seq, emoji, on) => handle.value.react(seq, emoji, on),
    typing: () => handle.value.typing(),
    stopTyping: () => handle.value.stopTyping(),
    markRead: (seq) => handle.value.markRead(seq),
    loadOlder: (limit) => handle.value.loadOlder(limit),
  };
}

/** One row per joined conversation, newest activity first. */
export function useInbox(): Readonly<ShallowRef<readonly InboxEntry[]>> {
  const client = useParley();
  const inbox = shallowRef<readonly InboxEntry[]>(client.inbox());
  const refresh = (rows: readonly InboxEntry[]) => {
    if (!sameInbox(inbox.value, rows)) inbox.value = rows;
  };
  whenLive(() => {
    client.connect();
    refresh(client.inbox());
    onScopeDispose(client.on('inbox', refresh));
  });
  return inbox;
}

/** Presence of a contact (`undefined` until known). */
export function usePresence(
  userId: MaybeRefOrGetter<string>,
): Readonly<ShallowRef<Presence | undefined>> {
  const client = useParley();
  const presence = shallowRef(client.presence(toValue(userId)));
  whenLive(() => {
    client.connect();
    watch(
      () => toValue(userId),
      (id, _old, onCleanup) => {
        presence.value = client.presence(id);
        onCleanup(
          client.on('presence', (p) => {
            if (p.userId === id) presence.value = p;
          }),
        );
      },
      { immediate: true },
    );
  });
  return presence;
}

/** Options of {@link useParleyEvent}. */
export interface UseParleyEventOptions {
  /** Listen to events sent to this conversation instead of events sent to the user. */
  conversationId?: MaybeRefOrGetter<string | undefined>;
}

/** Calls `handler` for every custom event `name`, typed by the registered events. */
export function useParleyEvent<
  E extends EventSchemas = RegisteredEvents,
  K extends EventName<E> = EventName<E>,
>(name: K, handler: (event: EventOf<E, K>) => void, options: UseParleyEventOptions = {}): void {
  const client = useParley<E>();
  const listener = (e: { name: string }) => {
    if (e.name === name) handler(e as EventOf<E, K>);
  };
  whenLive(() => {
    client.connect();
    watch(
      () => toValue(options.conversationId),
      (conversationId, _old, onCleanup) => {
        onCleanup(
          conversationId === undefined
            ? client.on('event', listener)
            : client.conversation(conversationId).on('event', listener),
        );
      },
      { immediate: true },
    );
  });
}
