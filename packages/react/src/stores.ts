/**
 * External stores for `useSyncExternalStore`, one per conversation / client and shared by every
 * component that reads it. A store holds at most one listener on the Parley emitter (while at
 * least one component is subscribed) and returns the same snapshot object until a version
 * counter, bumped by the emitter's change event, moves — so React re-renders only on change.
 * While nobody is subscribed (the render before the first subscription), snapshots are checked
 * field by field instead, so a change between render and subscribe is never missed.
 *
 * A conversation's store opens the conversation (`conversation.open()`) when it is first watched:
 * its newest page is loaded (a client holds no messages of a conversation until it is opened),
 * and paged back in after a `reset` (the snapshot's `lastReset` tells the app, for a notice).
 */
import {
  type Conversation,
  type ConversationSnapshot,
  type InboxEntry,
  type ParleyClient,
  type Presence,
  sameInbox,
  sameList,
  type Unsubscribe,
} from '@parley/client';
import type { EventSchemas } from '@parley/protocol/core';

export type { ConversationSnapshot };

const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** The snapshot without a client (server render, or before an options-created client exists). */
export const EMPTY_CONVERSATION: ConversationSnapshot = Object.freeze({
  messages: EMPTY_LIST,
  typingUsers: EMPTY_LIST,
  unreadCount: 0,
  readSeq: 0,
  hasMore: false,
  joined: false,
  lastReset: undefined,
  meta: undefined,
});

export const EMPTY_INBOX: readonly InboxEntry[] = EMPTY_LIST;

/** A ref-counted subscription to one emitter event, with a version counter. */
class Versioned<S> {
  private readonly listeners = new Set<() => void>();
  private off: Unsubscribe | undefined;
  private version = 0;
  private snapVersion = -1;
  private snap: S | undefined;

  constructor(
    private readonly listen: (onChange: () => void) => Unsubscribe,
    private readonly read: () => S,
    private readonly same: (a: S, b: S) => boolean,
  ) {}

  readonly subscribe = (listener: () => void): Unsubscribe => {
    this.listeners.add(listener);
    if (this.off === undefined) {
      this.off = this.listen(() => {
        this.version++;
        for (const l of [...this.listeners]) l();
      });
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.off !== undefined) {
        this.off();
        this.off = undefined;
      }
    };
  };

  readonly getSnapshot = (): S => {
    const subscribed = this.off !== undefined;
    if (subscribed && this.snap !== undefined && this.snapVersion === this.version)
      return this.snap;
    const next = this.read();
    if (this.snap === undefined || !this.same(this.snap, next)) this.snap = next;
    this.snapVersion = subscribed ? this.version : -1;
    return this.snap;
  };
}

export type ConversationStore = Versioned<ConversationSnapshot>;
export type InboxStore = Versioned<readonly InboxEntry[]>;
export type PresenceStore = Versioned<Presence | undefined>;

const conversationStores = new WeakMap<object, ConversationStore>();
const inboxStores = new WeakMap<object, InboxStore>();
const presenceStores = new WeakMap<object, Map<string, PresenceStore>>();

/** The shared store of one conversation handle. */
export function conversationStore<E extends EventSchemas>(
  conv: Conversation<E>,
): ConversationStore {
  let s = conversationStores.get(conv);
  if (s === undefined) {
    s = new Versioned<ConversationSnapshot>(
      (onChange) => {
        const off = conv.on('update', onChange);
        conv.open().catch(() => {});
        return off;
      },
      () => ({
        messages: conv.messages,
        typingUsers: conv.typingUsers,
        unreadCount: conv.unreadCount,
        readSeq: conv.readSeq,
        hasMore: conv.hasMore,
        joined: conv.joined,
        lastReset: conv.lastReset,
        meta: conv.meta,
      }),
      (a, b) =>
        a.messages === b.messages &&
        sameList(a.typingUsers, b.typingUsers) &&
        a.unreadCount === b.unreadCount &&
        a.readSeq === b.readSeq &&
        a.hasMore === b.hasMore &&
        a.joined === b.joined &&
        a.lastReset === b.lastReset &&
        a.meta === b.meta,
    );
    conversationStores.set(conv, s);
  }
  return s;
}

/** The shared inbox store of a client. */
export function inboxStore<E extends EventSchemas>(client: ParleyClient<E>): InboxStore {
  let s = inboxStores.get(client);
  if (s === undefined) {
    s = new Versioned<readonly InboxEntry[]>(
      (onChange) => client.on('inbox', onChange),
      () => client.inbox(),
      sameInbox,
    );
    inboxStores.set(client, s);
  }
  return s;
}

/** The shared presence store of one contact. */
export function presenceStore<E extends EventSchemas>(
  client: ParleyClient<E>,
  userId: string,
): PresenceStore {
  let byUser = presenceStores.get(client);
  if (byUser === undefined) {
    byUser = new Map();
    presenceStores.set(client, byUser);
  }
  let s = byUser.get(userId);
  if (s === undefined) {
    s = new Versioned<Presence | undefined>(
      (onChange) => client.on('presence', (p) => p.userId === userId && onChange()),
      () => client.presence(userId),
      (a, b) => a === b,
    );
    byUser.set(userId, s);
  }
  return s;
}
