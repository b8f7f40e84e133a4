/**
 * `createClient`: one reliable connection per user session. Routes every server frame by
 * `conversationId` to the conversation registry, owns the outbox and the request map.
 */
import {
  type ClientFrame,
  ErrorCode,
  type ErrorFrame,
  type EventInput,
  type EventName,
  type EventSchemas,
  type HistoryRequestFrame,
  type JsonValue,
  Limits,
  type NoEvents,
  type ServerFrame,
  type SyncFrame,
  validateEvent,
  type WelcomeFrame,
} from '@parley/protocol/core';
import { Connection, type ReconnectInfo } from './connection.js';
import { Conversation, type ConversationHost } from './conversation.js';
import { Emitter } from './emitter.js';
import { ClientClosedError, DisconnectedError, ServerError } from './errors.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Outbox } from './outbox.js';
import type { OutboxItem } from './outbox-storage.js';
import { Requests } from './requests.js';
import {
  type AppEvent,
  ClientCode,
  type ConnectionState,
  type InboxEntry,
  type Presence,
  type ResetEvent,
  type StateChange,
  type StoredMessage,
} from './types.js';
import { uuid } from './util.js';
import { isJson, validateSend } from './validate.js';

/** Events of the client. */
export type ClientEvents<E extends EventSchemas> = {
  /** Every state transition, with the close code and reason that caused it. */
  state: (change: StateChange) => void;
  /** A reconnect was scheduled after `delayMs`. */
  reconnect: (info: ReconnectInfo) => void;
  /** A stored message in any conversation, in seq order per conversation. */
  message: (message: StoredMessage) => void;
  /** A conversation dropped its local messages (never swallowed): refetch. */
  reset: (event: ResetEvent) => void;
  /** The inbox changed. */
  inbox: (entries: readonly InboxEntry[]) => void;
  presence: (presence: Presence) => void;
  /** A custom event sent to this user (not to a conversation), validated with the app's schemas. */
  event: (event: AppEvent<E>) => void;
  /** The user was added to (`joined`) or removed from (`left`) a conversation. */
  conversation: (change: { type: 'joined' | 'left'; conversationId: string }) => void;
  /** An uncorrelated error frame from the server. */
  error: (error: ServerError) => void;
};

/**
 * Send errors that are retried with the same clientMsgId (after `retryAfterMs`, or on the next
 * connection for `unauthenticated`); every other code fails the send for good.
 */
const RETRYABLE: ReadonlySet<string> = new Set([
  ErrorCode.RateLimited,
  ErrorCode.Unavailable,
  ErrorCode.Internal,
  ErrorCode.Unauthenticated,
]);

/** A Parley client. Create with {@link createClient}. */
export class ParleyClient<E extends EventSchemas = NoEvents> extends Emitter<ClientEvents<E>> {
  private readonly o: ResolvedOptions<E>;
  private readonly conn: Connection<E>;
  private readonly outbox: Outbox;
  private readonly convs = new Map<string, Conversation<E>>();
  private readonly presences = new Map<string, Presence>();
  private readonly requests: Requests<Conversation<E>>;
  private _userId: string | undefined;
  private _sessionId: string | undefined;
  private limits: WelcomeFrame['limits'] = {
    maxFrameBytes: Limits.MAX_FRAME_BYTES,
    maxTextLength: Limits.MAX_TEXT_LENGTH,
  };
  /** The face conversations see. */
  private readonly host: ConversationHost<E>;

  constructor(options: ClientOptions<E>) {
    const o = resolveOptions(options);
    super((err) => o.logger.error({ err }, 'parley: a listener threw'));
    this.o = o;
    this.outbox = new Outbox({
      send: (frame) => this.conn.send(frame),
      ackTimeoutMs: o.ackTimeoutMs,
      maxItems: o.outboxMaxItems,
      storage: o.outboxStorage,
      logger: o.logger,
    });
    this.requests = new Requests((frame) => this.sendFrame(frame), o.requestTimeoutMs);
    const self = this;
    this.host = {
      o,
      get userId() {
        return self._userId;
      },
      isReady: () => this.conn.isReady,
      sendFrame: (frame: ClientFrame) => this.sendFrame(frame),
      send: (conv: Conversation<E>, text: string, data: JsonValue | undefined) =>
        this.send(conv, text, data),
      resend: (item: OutboxItem) => this.outbox.add(item),
      request: (frame: HistoryRequestFrame) =>
        this.conn.state === 'closed'
          ? Promise.reject(new ClientClosedError('client is closed'))
          : this.requests.history(frame),
      sync: (conv: Conversation<E>, frame: SyncFrame) => this.requests.sync(conv, frame),
      emitEvent: (
        target: { conversationId: string } | { userId: string },
        name: string,
        payload: unknown,
      ) => this.emitEvent(target, name, payload),
      delivered: (_conv: Conversation<E>, m: StoredMessage) => {
        this.outbox.settle(m.clientMsgId, m);
        this._emit('message', m);
      },
      changed: () => this.inboxChanged(),
      reset: (ev: ResetEvent) => this._emit('reset', ev),
    };
    this.conn = new Connection(o, {
      cursors: () => {
        const cursors: Record<string, { seq: number; epoch: string }> = {};
        for (const [id, c] of this.convs) {
          const cur = c._cursor();
          if (cur !== undefined) cursors[id] = cur;
        }
        return cursors;
      },
      welcome: (f) => this.onWelcome(f),
      frame: (f) => this.onFrame(f),
      down: () => this.onDown(),
      state: (change) => this.onState(change),
      reconnect: (info) => this._emit('reconnect', info),
    });
    this.restoreOutbox();
    if (o.autoConnect) this.conn.connect();
  }

  /** Current connection state. */
  get state(): ConnectionState {
    return this.conn.state;
  }

  /** The authenticated user's id (known after the first `welcome`). */
  get userId(): string | undefined {
    return this._userId;
  }

  /** The server's id for this connection (changes on every reconnect). */
  get sessionId(): string | undefined {
    return this._sessionId;
  }

  /** Starts connecting when created with `autoConnect: false`. */
  connect(): void {
    this.conn.connect();
  }

  /** The handle of conversation `id`; the same object every time. */
  conversation(id: string): Conversation<E> {
    let c = this.convs.get(id);
    if (c === undefined) {
      c = new Conversation<E>(id, this.host);
      this.convs.set(id, c);
    }
    return c;
  }

  /** Every conversation the client knows. */
  conversations(): Conversation<E>[] {
    return [...this.convs.values()];
  }

  /** One row per joined conversation, newest activity first. */
  inbox(): InboxEntry[] {
    const rows: InboxEntry[] = [];
    for (const c of this.convs.values()) {
      if (!c.joined) continue;
      const msgs = c.messages;
      rows.push({
        conversationId: c.id,
        lastMessage: msgs[msgs.length - 1],
        unreadCount: c.unreadCount,
        typingUsers: c.typingUsers,
      });
    }
    return rows.sort((a, b) => (b.lastMessage?.createdAt ?? 0) - (a.lastMessage?.createdAt ?? 0));
  }

  /** Presence of a contact, when known. */
  presence(userId: string): Presence | undefined {
    return this.presences.get(userId);
  }

  /** Sends a custom event to one user (all of their sockets). Resolves once sent. */
  emit<K extends EventName<E>>(
    name: K,
    target: { userId: string },
    payload: EventInput<E, K>,
  ): Promise<void> {
    return this.emitEvent({ userId: target.userId }, name, payload);
  }

  /** Closes for good: pending sends reject (persisted ones stay in storage), listeners stay. */
  close(): void {
    this.conn.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // --- sending -------------------------------------------------------------------------------

  private send(
    conv: Conversation<E>,
    text: string,
    data: JsonValue | undefined,
  ): Promise<StoredMessage> {
    if (this.conn.state === 'closed') {
      return Promise.reject(new ClientClosedError('client is closed'));
    }
    const invalid = validateSend(conv.id, text, data, this.limits);
    if (invalid !== undefined) return Promise.reject(invalid);
    const item: OutboxItem = {
      clientMsgId: uuid(this.o.random),
      conversationId: conv.id,
      text,
      createdAt: this.o.now(),
    };
    if (data !== undefined) item.data = data;
    const promise = this.outbox.add(item);
    // Outbox full rejects synchronously-settled; show the optimistic entry only if it was queued.
    if (this.outbox.has(item.clientMsgId)) conv._addPending(item);
    return promise;
  }

  private sendFrame(frame: ClientFrame): boolean {
    try {
      return this.conn.send(frame);
    } catch (err) {
      this.o.logger.warn({ err, type: frame.type }, 'parley: not sending an invalid frame');
      return false;
    }
  }

  private async emitEvent(
    target: { conversationId: string } | { userId: string },
    name: string,
    payload: unknown,
  ): Promise<void> {
    const check = await validateEvent(this.o.events ?? {}, name, payload);
    if (!check.ok) throw new ServerError(check.code, check.message, { field: check.field });
    if (!isJson(payload))
      throw new ServerError(ErrorCode.InvalidFrame, 'payload must be JSON', { field: 'payload' });
    if (this.conn.state === 'closed') throw new ClientClosedError('client is closed');
    if (!this.sendFrame({ type: 'event', name, payload, ...target })) {
      throw new DisconnectedError('custom events are not queued; not connected');
    }
  }

  // --- receiving -----------------------------------------------------------------------------

  private onWelcome(f: WelcomeFrame): void {
    this._userId = f.user.id;
    this._sessionId = f.sessionId;
    this.limits = f.limits;
    for (const c of f.conversations) this.conversation(c.id)._welcome(c);
    for (const p of f.presence) this.setPresence(p);
    // The outbox flushes (in order) before `open` is announced and before any new send.
    this.outbox.flush();
    for (const c of this.convs.values()) c._flushRead();
  }

  private onFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'message':
        this.conversation(f.message.conversationId)._receive(f.message);
        return;
      case 'ack': {
        const conv = this.conversation(f.message.conversationId);
        conv._ack(f.message);
        this.outbox.settle(f.clientMsgId, f.message);
        return;
      }
      case 'error':
        this.onError(f);
        return;
      case 'replay':
        this.requests.answered(f.ref);
        this.conversation(f.conversationId)._replay(f);
        return;
      case 'reset':
        this.requests.answered(f.ref);
        this.conversation(f.conversationId)._reset(f);
        return;
      case 'history':
        this.requests.page(f);
        return;
      case 'typing':
        this.convs.get(f.conversationId)?._typing(f);
        return;
      case 'read':
        this.convs.get(f.conversationId)?._read(f.userId, f.seq);
        return;
      case 'presence': {
        const p: Presence = { userId: f.userId, online: f.online };
        if (f.lastSeenAt !== undefined) p.lastSeenAt = f.lastSeenAt;
        this.setPresence(p);
        return;
      }
      case 'joined':
        this.conversation(f.conversationId)._joinedAt(f.seq, f.epoch);
        this._emit('conversation', { type: 'joined', conversationId: f.conversationId });
        return;
      case 'left': {
        const c = this.convs.get(f.conversationId);
        if (c !== undefined) {
          this.convs.delete(f.conversationId);
          c._dispose();
          c._left();
        }
        this._emit('conversation', { type: 'left', conversationId: f.conversationId });
        return;
      }
      case 'event':
        void this.onEvent(f.name, f.from, f.conversationId, f.payload);
        return;
      default:
        return;
    }
  }

  private onError(f: ErrorFrame): void {
    const err = new ServerError(f.code, f.message, {
      field: f.field,
      retryAfterMs: f.retryAfterMs,
    });
    const clientMsgId =
      f.clientMsgId ?? (f.ref !== undefined && this.outbox.has(f.ref) ? f.ref : undefined);
    if (clientMsgId !== undefined && this.outbox.has(clientMsgId)) {
      if (RETRYABLE.has(f.code)) {
        this.outbox.retryLater(clientMsgId, f.retryAfterMs ?? this.o.reconnect.minDelayMs * 2);
        return;
      }
      const item = this.outbox.fail(clientMsgId, err);
      if (item !== undefined) this.convs.get(item.conversationId)?._failed(item, err);
      return;
    }
    const settled = this.requests.fail(f.ref, err);
    if (settled === true) return;
    if (settled !== false) {
      settled.sync._syncFailed();
      this.o.logger.warn(
        { code: f.code, conversationId: settled.sync.id },
        'parley: gap fill refused',
      );
    }
    this.o.logger.warn({ code: f.code, field: f.field }, `parley: server error: ${f.message}`);
    this._emit('error', err);
  }

  private async onEvent(
    name: string,
    from: string,
    conversationId: string | undefined,
    payload: unknown,
  ) {
    const check = await validateEvent(this.o.events ?? {}, name, payload);
    if (!check.ok) {
      this.o.logger.warn(
        { name, from, field: check.field },
        `parley: dropped custom event: ${check.message}`,
      );
      return;
    }
    // The one cast: `validateEvent` checked `payload` against the schema registered for `name`.
    const ev = {
      name,
      from,
      payload: check.value,
      ...(conversationId === undefined ? {} : { conversationId }),
    } as AppEvent<E>;
    if (conversationId !== undefined) this.convs.get(conversationId)?._event(ev);
    else this._emit('event', ev);
  }

  private setPresence(p: Presence): void {
    this.presences.set(p.userId, p);
    this._emit('presence', p);
  }

  private onDown(): void {
    this.outbox.down();
    for (const c of this.convs.values()) c._down();
    this.requests.rejectAll(new DisconnectedError('the connection dropped before the answer'));
  }

  private onState(change: StateChange): void {
    if (change.to === 'closed') {
      const stopped = change.code !== ClientCode.ClientClosed;
      this.outbox.close({
        code: stopped ? 'connection_stopped' : 'client_closed',
        reason: change.reason || String(change.code),
      });
      this.requests.rejectAll(new ClientClosedError('client closed'));
      for (const c of this.convs.values()) c._dispose();
    }
    this._emit('state', change);
  }

  private restoreOutbox(): void {
    const storage = this.o.outboxStorage;
    if (storage === undefined) return;
    const apply = (items: readonly OutboxItem[]) => {
      for (const item of this.outbox.restore(items))
        this.conversation(item.conversationId)._addPending(item);
      this.outbox.flush();
    };
    try {
      const loaded = storage.load();
      if (Array.isArray(loaded)) apply(loaded);
      else
        void Promise.resolve(loaded).then(apply, (err: unknown) =>
          this.o.logger.warn({ err }, 'parley: outbox storage load failed'),
        );
    } catch (err) {
      this.o.logger.warn({ err }, 'parley: outbox storage load failed');
    }
  }

  private inboxChanged(): void {
    if (this.listenerCount('inbox') > 0) this._emit('inbox', this.inbox());
  }
}

/** Creates a client and (unless `autoConnect: false`) starts connecting. */
export function createClient<E extends EventSchemas = NoEvents>(
  options: ClientOptions<E>,
): ParleyClient<E> {
  return new ParleyClient<E>(options);
}
