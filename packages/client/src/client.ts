/**
 * `createClient`: one reliable connection per user session. Routes every server frame by
 * `conversationId` to the conversation registry, owns the outbox and the request map, and is the
 * one place where a send is settled (its promise and its optimistic entry, together).
 */
import {
  type ClientFrame,
  type ErrorFrame,
  type EventInput,
  type EventName,
  type EventSchemas,
  type HistoryPageFrame,
  type HistoryRequestFrame,
  isJsonValue,
  type JsonValue,
  type Limits,
  type Message,
  type NoEvents,
  type ServerFrame,
  type SyncFrame,
  validateEvent,
  type WelcomeFrame,
} from '@parley/protocol/core';
import { Connection, type ReconnectInfo } from './connection.js';
import { Conversation, type SendFields } from './conversation.js';
import { Emitter } from './emitter.js';
import { ClientClosedError, DisconnectedError, type ParleyError, ServerError } from './errors.js';
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
import { noop, uuid } from './util.js';
import { validateSend } from './validate.js';

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
  /**
   * The session start of a link is complete (`synced`): the inbox is complete (every
   * conversation's head, unread count, last message and metadata) and every resume's replay or
   * reset was applied. Once per (re)connect.
   */
  synced: () => void;
  presence: (presence: Presence) => void;
  /** A custom event sent to this user (not to a conversation), validated with the app's schemas. */
  event: (event: AppEvent<E>) => void;
  /**
   * The user was added to (`joined`) or removed from (`left`) a conversation — live, or found
   * missing from the `welcome` of a reconnect.
   */
  conversation: (change: { type: 'joined' | 'left'; conversationId: string }) => void;
  /** An uncorrelated error frame from the server. */
  error: (error: ServerError) => void;
};

/** A Parley client. Create with {@link createClient}. */
export class ParleyClient<E extends EventSchemas = NoEvents> extends Emitter<ClientEvents<E>> {
  /** @internal */
  readonly o: ResolvedOptions<E>;
  private readonly conn: Connection<E>;
  private readonly outbox: Outbox;
  private readonly convs = new Map<string, Conversation<E>>();
  private readonly presences = new Map<string, Presence>();
  private readonly requests: Requests;
  private _userId: string | undefined;
  private _sessionId: string | undefined;
  private _synced = false;
  /** Conversations the latest `hello` carried a cursor for (they resume; the others start at the head). */
  private resumed = new Set<string>();
  private limits: WelcomeFrame['limits'] = {
    maxFrameBytes: 65_536 satisfies typeof Limits.MAX_FRAME_BYTES,
    maxTextLength: 10_000 satisfies typeof Limits.MAX_TEXT_LENGTH,
  };

  constructor(options: ClientOptions<E>) {
    const o = resolveOptions(options);
    super((err) => o.logger.error({ err }, 'parley: a listener threw'));
    this.o = o;
    this.outbox = new Outbox(o, {
      send: (raw) => this.conn.send(raw),
      wait: () => this.conn.pacer.wait(),
      pause: (ms) => this.conn.pacer.pause(ms),
      limits: () => this.limits,
      failed: (item, err) => this.conversation(item.conversationId)._failed(item, err),
    });
    this.requests = new Requests((frame) => this.sendFrame(frame), o.requestTimeoutMs);
    this.conn = new Connection(o, this);
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

  /**
   * True once the session start of the current link is complete (`synced`: the inbox rows and
   * every resume are in); false while connecting and after the link drops.
   */
  get synced(): boolean {
    return this._synced;
  }

  /** Starts connecting when created with `autoConnect: false`. */
  connect(): void {
    this.conn.connect();
  }

  /** The handle of conversation `id`; the same object every time (also after leave and rejoin). */
  conversation(id: string): Conversation<E> {
    let c = this.convs.get(id);
    if (c === undefined) {
      c = new Conversation<E>(id, this);
      this.convs.set(id, c);
    }
    return c;
  }

  /** Every conversation the client knows (joined or not). */
  conversations(): Conversation<E>[] {
    return [...this.convs.values()];
  }

  /** One row per joined conversation, newest activity first. */
  inbox(): InboxEntry[] {
    const rows: InboxEntry[] = [];
    for (const c of this.convs.values()) {
      if (!c.joined) continue;
      rows.push({
        conversationId: c.id,
        lastMessage: c.lastMessage,
        unreadCount: c.unreadCount,
        typingUsers: c.typingUsers,
        meta: c.meta,
      });
    }
    return rows.sort((a, b) => (b.lastMessage?.createdAt ?? 0) - (a.lastMessage?.createdAt ?? 0));
  }

  /** Presence of a contact, when known. */
  presence(userId: string): Presence | undefined {
    return this.presences.get(userId);
  }

  /**
   * Sends a custom event to one user (all of their sockets). Resolves once the hub published it
   * (`ok`); rejects with its refusal (`ServerError`: `forbidden`, `invalid_frame`, `not_found`),
   * `TimeoutError` after `requestTimeoutMs`, or `DisconnectedError` (not queued while offline).
   */
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

  /** @internal A send or an operation: validated, then queued in the outbox (optimistic at once). */
  send(conv: Conversation<E>, fields: SendFields): Promise<StoredMessage> {
    if (this.conn.state === 'closed') {
      return Promise.reject(new ClientClosedError('client is closed'));
    }
    const invalid = validateSend(conv.id, fields, this.limits);
    if (invalid !== undefined) return Promise.reject(invalid);
    const item: OutboxItem = {
      clientMsgId: uuid(this.o.random),
      conversationId: conv.id,
      createdAt: this.o.now(),
      ...fields,
    };
    return this.enqueue(conv, item, false);
  }

  /**
   * @internal `message.retry()`: the same id, unless the hub would no longer recognise it (then
   * a fresh one).
   */
  retry(conv: Conversation<E>, item: OutboxItem): Promise<StoredMessage> {
    if (this.conn.state === 'closed') {
      return Promise.reject(new ClientClosedError('client is closed'));
    }
    let next = item;
    if (this.outbox.expired(item)) {
      conv._forget(item.clientMsgId);
      next = { ...item, clientMsgId: uuid(this.o.random), createdAt: this.o.now() };
    }
    return this.enqueue(conv, next, true);
  }

  private enqueue(conv: Conversation<E>, item: OutboxItem, retry: boolean): Promise<StoredMessage> {
    const promise = this.outbox.add(item);
    // Refused at once (full, too large, expired): a new send shows nothing, a retry stays failed.
    if (this.outbox.has(item.clientMsgId)) conv._pending(item);
    else if (retry) promise.catch((err: ParleyError) => conv._failed(item, err));
    return promise;
  }

  /**
   * @internal THE settlement of a send, whatever told the client it is stored (its ack, its
   * message in the stream, a history page): the promise resolves and the optimistic entry goes — at once when the
   * conversation is past its seq, else when the message is delivered in order or a reset voids it.
   */
  settle(conv: Conversation<E>, m: Message): void {
    this.outbox.settle(m);
    conv._settled(m);
  }

  /** @internal */
  sendFrame(frame: ClientFrame): boolean {
    try {
      return this.conn.send(frame);
    } catch (err) {
      this.o.logger.warn({ err, type: frame.type }, 'parley: not sending an invalid frame');
      return false;
    }
  }

  /**
   * @internal A gap fill with a deadline. When it fails (silence, or any refusal: rate limited,
   * not a member any more, …) the link is replaced: the resume is the all-or-nothing recovery (a replay or a
   * reset, and a membership check), so no gap stays open for want of a next message.
   */
  sync(conv: Conversation<E>, after: number, epoch: string | undefined): boolean {
    if (!this.conn.isReady) return false;
    const frame: SyncFrame = { type: 'sync', conversationId: conv.id, after };
    if (epoch !== undefined) frame.epoch = epoch;
    this.requests.request(frame).then(noop, (err: ParleyError) => {
      conv._unfilled();
      if (err instanceof DisconnectedError) return;
      this.o.logger.warn({ code: err.code, conversationId: conv.id }, 'parley: gap fill failed');
      this.conn.restart(ClientCode.GapFillFailed, `gap fill failed: ${err.code}`);
    });
    return true;
  }

  /** @internal */
  async emitEvent(
    target: { conversationId: string } | { userId: string },
    name: string,
    payload: unknown,
  ): Promise<void> {
    const check = await validateEvent(this.o.events ?? {}, name, payload);
    if (!check.ok) throw new ServerError(check.code, check.message, { field: check.field });
    if (!isJsonValue(payload))
      throw new ServerError('invalid_frame', 'payload must be JSON', { field: 'payload' });
    if (this.conn.state === 'closed') throw new ClientClosedError('client is closed');
    // Checked by `isJsonValue` above.
    await this.requests.request({ type: 'event', name, payload: payload as JsonValue, ...target });
  }

  // --- receiving -----------------------------------------------------------------------------

  /** @internal */
  onWelcome(f: WelcomeFrame): void {
    this._userId = f.user.id;
    this._sessionId = f.sessionId;
    this.limits = f.limits;
    const listed = new Set<string>();
    for (const c of f.conversations) {
      listed.add(c.id);
      this.conversation(c.id)._welcome(c, this.resumed.has(c.id));
    }
    // Removed while disconnected: the welcome no longer lists it.
    for (const c of this.convs.values()) if (c.joined && !listed.has(c.id)) this.left(c.id);
    for (const p of f.presence) this.setPresence(p);
    // The outbox flushes (in order, paced) before `open` is announced and before any new send.
    this.outbox.pump();
    for (const c of this.convs.values()) c._flushRead();
  }

  /** @internal */
  onFrame(f: ServerFrame): void {
    switch (f.type) {
      case 'message':
        this.conversation(f.message.conversationId)._receive(f.message);
        return;
      case 'ack': {
        const conv = this.conversation(f.message.conversationId);
        conv._receive(f.message);
        this.settle(conv, f.message);
        return;
      }
      case 'error':
        this.onError(f);
        return;
      case 'replay':
        this.requests.answer(f.ref, f);
        this.conversation(f.conversationId)._replay(f);
        return;
      case 'reset':
        this.requests.answer(f.ref, f);
        this.conversation(f.conversationId)._reset(f);
        return;
      case 'history':
      case 'ok':
        this.requests.answer(f.ref, f);
        return;
      case 'typing':
        this.convs.get(f.conversationId)?._typing(f);
        return;
      case 'read':
        this.convs.get(f.conversationId)?._read(f.userId, f.seq, f.unread);
        return;
      case 'presence': {
        const p: Presence = { userId: f.userId, online: f.online };
        if (f.lastSeenAt !== undefined) p.lastSeenAt = f.lastSeenAt;
        this.setPresence(p);
        return;
      }
      case 'joined':
        this.conversation(f.conversationId)._joinedAt(f);
        this._emit('conversation', { type: 'joined', conversationId: f.conversationId });
        return;
      case 'left':
        this.left(f.conversationId);
        return;
      case 'event':
        void this.onEvent(f.name, f.from, f.conversationId, f.payload);
        return;
      case 'summary':
        for (const s of f.conversations) this.conversation(s.id)._summary(s.lastMessage, s.meta);
        return;
      case 'conversation':
        this.conversation(f.conversationId)._summary(undefined, f.meta);
        return;
      case 'synced':
        this.onSynced();
        return;
      default:
        return;
    }
  }

  private left(conversationId: string): void {
    this.convs.get(conversationId)?._left();
    this._emit('conversation', { type: 'left', conversationId });
  }

  private onError(f: ErrorFrame): void {
    const err = new ServerError(f.code, f.message, {
      field: f.field,
      retryAfterMs: f.retryAfterMs,
    });
    // A send's answer names its clientMsgId (which is also its ref).
    const clientMsgId = f.clientMsgId ?? f.ref;
    if (clientMsgId !== undefined && this.outbox.error(clientMsgId, err)) return;
    if (this.requests.fail(f.ref, err)) return;
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

  /** The session start is complete: prefetch the newest conversations, page in opened ones. */
  private onSynced(): void {
    this._synced = true;
    for (const r of this.inbox().slice(0, this.o.prefetch))
      this.conversation(r.conversationId).open().catch(noop);
    for (const c of this.convs.values()) c._synced();
    this._emit('synced');
  }

  /** @internal */
  onDown(code: number): void {
    this._synced = false;
    this.outbox.down(code);
    for (const c of this.convs.values()) c._down();
    this.requests.rejectAll(new DisconnectedError('the connection dropped before the answer'));
  }

  /** @internal */
  onState(change: StateChange): void {
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
        this.conversation(item.conversationId)._pending(item);
      this.outbox.pump();
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

  // --- what the connection and conversations need (ConnectionHandlers, ConversationHost) -------

  /** @internal Resume cursors for the `hello`. */
  _cursors(): Record<string, { seq: number; epoch: string }> {
    const cursors: Record<string, { seq: number; epoch: string }> = {};
    for (const [id, c] of this.convs) {
      const cur = c._cursor();
      if (cur !== undefined) cursors[id] = cur;
    }
    this.resumed = new Set(Object.keys(cursors));
    return cursors;
  }

  /** @internal */
  _reconnected(info: ReconnectInfo): void {
    this._emit('reconnect', info);
  }

  /** @internal */
  isReady(): boolean {
    return this.conn.isReady;
  }

  /** @internal */
  isSynced(): boolean {
    return this._synced;
  }

  /** @internal */
  _history(frame: HistoryRequestFrame): Promise<HistoryPageFrame> {
    return this.conn.state === 'closed'
      ? Promise.reject(new ClientClosedError('client is closed'))
      : this.requests.request(frame);
  }

  /** @internal */
  delivered(_conv: Conversation<E>, m: StoredMessage): void {
    this._emit('message', m);
  }

  /** @internal */
  _resetIn(ev: ResetEvent): void {
    this._emit('reset', ev);
  }

  /** @internal */
  changed(): void {
    if (this.listenerCount('inbox') > 0) this._emit('inbox', this.inbox());
  }
}

/** Creates a client and (unless `autoConnect: false`) starts connecting. */
export function createClient<E extends EventSchemas = NoEvents>(
  options: ClientOptions<E>,
): ParleyClient<E> {
  return new ParleyClient<E>(options);
}
