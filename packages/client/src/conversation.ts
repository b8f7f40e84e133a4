/**
 * A conversation handle: the client owns one per conversation id (`client.conversation(id)`
 * always returns the same object). It holds messages in seq order with no holes (later messages
 * wait in a buffer while a `sync` fills the gap), optimistic sends after them, typing, reads and
 * the conversation's custom events.
 */
import type {
  ClientFrame,
  EventInput,
  EventName,
  EventSchemas,
  HistoryPageFrame,
  HistoryRequestFrame,
  JsonValue,
  Message,
  ReplayFrame,
  ResetFrame,
  SyncFrame,
  TypingStateFrame,
} from '@parley/protocol/core';
import { Emitter } from './emitter.js';
import type { ParleyError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { OutboxItem } from './outbox-storage.js';
import type {
  AppEvent,
  ClientMessage,
  OptimisticMessage,
  ReadEvent,
  ResetEvent,
  StoredMessage,
  TypingEvent,
} from './types.js';
import { LocalTyping, RemoteTyping } from './typing.js';

/** Events of a conversation. */
export type ConversationEvents<E extends EventSchemas> = {
  /** A stored message was appended in seq order (live, replayed or gap-filled). */
  message: (message: StoredMessage) => void;
  /** Anything changed (messages, statuses, typing, reads): re-render. */
  update: () => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  /** Local messages were dropped (history trimmed or epoch changed): refetch with `loadOlder`. */
  reset: (event: ResetEvent) => void;
  /** A custom event from another member, validated against the app's schemas. */
  event: (event: AppEvent<E>) => void;
  /** This user was removed from the conversation. */
  left: () => void;
};

/** What a conversation needs from its client. @internal */
export interface ConversationHost<E extends EventSchemas> {
  readonly o: ResolvedOptions<E>;
  readonly userId: string | undefined;
  isReady(): boolean;
  sendFrame(frame: ClientFrame): boolean;
  send(conv: Conversation<E>, text: string, data: JsonValue | undefined): Promise<StoredMessage>;
  resend(item: OutboxItem): Promise<StoredMessage>;
  request(frame: HistoryRequestFrame): Promise<HistoryPageFrame>;
  /** Sends a gap-fill `sync` with a ref the client correlates with a `replay`/`reset`/`error`. */
  sync(conv: Conversation<E>, frame: SyncFrame): boolean;
  emitEvent(target: { conversationId: string }, name: string, payload: unknown): Promise<void>;
  delivered(conv: Conversation<E>, message: StoredMessage): void;
  changed(conv: Conversation<E>): void;
  reset(event: ResetEvent): void;
}

export class Conversation<E extends EventSchemas = Record<never, never>> extends Emitter<
  ConversationEvents<E>
> {
  private stored: StoredMessage[] = [];
  private pending: OptimisticMessage[] = [];
  private cache: ClientMessage[] | undefined;
  private cursor = 0;
  private _epoch: string | undefined;
  private head = 0;
  private readonly buffer = new Map<number, Message>();
  private syncing = false;
  private _readSeq = 0;
  private unsentRead: number | undefined;
  private readonly _reads = new Map<string, number>();
  private readonly localTyping: LocalTyping;
  private readonly remoteTyping: RemoteTyping;
  private _hasMore = true;
  private _joined = true;

  /** @internal */
  constructor(
    /** The conversation id. */
    readonly id: string,
    private readonly host: ConversationHost<E>,
  ) {
    super((err) => host.o.logger.error({ err, conversationId: id }, 'parley: a listener threw'));
    this.localTyping = new LocalTyping(host.o.typing, host.o.now, (state) =>
      host.sendFrame({ type: 'typing', conversationId: id, state }),
    );
    this.remoteTyping = new RemoteTyping((userId, typing) => {
      this._emit('typing', { conversationId: id, userId, typing, users: this.typingUsers });
      this.touch();
    });
  }

  /** Stored messages in seq order, then this client's optimistic ones in send order. A new array after every change. */
  get messages(): readonly ClientMessage[] {
    this.cache ??= [...this.stored, ...this.pending];
    return this.cache;
  }

  /** Highest contiguous seq held (the resume cursor). */
  get seq(): number {
    return this.cursor;
  }

  /** Epoch of the local history. */
  get epoch(): string | undefined {
    return this._epoch;
  }

  /** This user's read position (monotonic). */
  get readSeq(): number {
    return this._readSeq;
  }

  /** Other members' read positions, by user id. */
  get reads(): ReadonlyMap<string, number> {
    return this._reads;
  }

  /** Stored messages after the own read position that someone else sent. */
  get unreadCount(): number {
    const me = this.host.userId;
    let n = 0;
    for (let i = this.stored.length - 1; i >= 0; i--) {
      const m = this.stored[i]!;
      if (m.seq <= this._readSeq) break;
      if (m.senderId !== me) n++;
    }
    return n;
  }

  /** Users typing now (never this user). */
  get typingUsers(): readonly string[] {
    return this.remoteTyping.list();
  }

  /** False once `loadOlder` reached the beginning of the history. */
  get hasMore(): boolean {
    return this._hasMore;
  }

  /** False after the user was removed (`left`). */
  get joined(): boolean {
    return this._joined;
  }

  /**
   * Sends a message. The optimistic entry appears at once (status `pending`); the promise resolves
   * with the stored message, or rejects with a `ParleyError` (the entry then has status `failed`
   * and a `retry()`).
   */
  send(text: string, options: { data?: JsonValue } = {}): Promise<StoredMessage> {
    this.stopTyping();
    return this.host.send(this, text, options.data);
  }

  /** Call on every keystroke: sends at most one `start` per throttle window and `stop` after idling. */
  typing(): void {
    if (this.host.isReady()) this.localTyping.keystroke();
  }

  /** Ends the typing state now (also done on `send` and after idling). */
  stopTyping(): void {
    this.localTyping.stop();
  }

  /** Marks read up to `seq` (default: the newest held message). Monotonic; sent when connected. */
  markRead(seq?: number): void {
    const newest = Math.max(this.cursor, this.head);
    const target = Math.min(seq ?? newest, newest);
    if (target < 1 || target <= this._readSeq) return;
    this._readSeq = target;
    this.unsentRead = target;
    this.flushRead();
    const me = this.host.userId;
    if (me !== undefined) this._emit('read', { conversationId: this.id, userId: me, seq: target });
    this.touch();
  }

  /** Loads up to `limit` older messages and prepends them. Resolves with the loaded messages. */
  async loadOlder(limit = 50): Promise<readonly StoredMessage[]> {
    const before = this.stored[0]?.seq ?? this.cursor + 1;
    if (before <= 1) {
      this._hasMore = false;
      return [];
    }
    const page = await this.host.request({
      type: 'history',
      conversationId: this.id,
      before,
      limit,
    });
    const first = this.stored[0]?.seq ?? this.cursor + 1;
    const older = page.messages
      .filter((m) => m.seq < first)
      .sort((a, b) => a.seq - b.seq)
      .map((m): StoredMessage => ({ ...m, status: 'sent' }));
    this._hasMore = page.hasMore;
    if (older.length > 0) {
      this.stored = [...older, ...this.stored];
      this.touch();
    }
    return older;
  }

  /** Sends a custom event to the conversation's other members (validated with the app's schema). */
  emit<K extends EventName<E>>(name: K, payload: EventInput<E, K>): Promise<void> {
    return this.host.emitEvent({ conversationId: this.id }, name, payload);
  }

  // --- driven by the client ------------------------------------------------------------------

  /** @internal */
  _welcome(c: {
    seq: number;
    epoch: string;
    readSeq: number;
    reads?: Record<string, number> | undefined;
  }): void {
    this._joined = true;
    this._epoch ??= c.epoch;
    // Optimistic messages restored from storage before the first welcome did not know the user.
    const me = this.host.userId;
    if (me !== undefined && this.pending.some((p) => p.senderId === '')) {
      this.pending = this.pending.map((p) => (p.senderId === '' ? { ...p, senderId: me } : p));
    }
    this.head = Math.max(this.head, c.seq);
    if (c.readSeq > this._readSeq) this._readSeq = c.readSeq;
    for (const [user, seq] of Object.entries(c.reads ?? {})) {
      if (seq > (this._reads.get(user) ?? 0)) this._reads.set(user, seq);
    }
    this.flushRead();
    this.touch();
  }

  /** @internal A conversation joined at runtime: its history before `seq` is available via `loadOlder`. */
  _joinedAt(seq: number, epoch: string): void {
    this._joined = true;
    if (this._epoch !== epoch) {
      this._epoch = epoch;
      this.cursor = seq;
      this.stored = [];
    }
    this.head = Math.max(this.head, seq);
    this.touch();
  }

  /** @internal */
  _left(): void {
    this._joined = false;
    this._emit('left');
    this.touch();
  }

  /** @internal Any stored message: delivered in order, buffered past a gap, dropped when duplicate. */
  _receive(m: Message): void {
    if (this.deliverInOrder(m)) this.touch();
  }

  /** @internal */
  _replay(f: ReplayFrame): void {
    if (this._epoch !== undefined && this._epoch !== f.epoch) {
      // A replay from another epoch cannot be appended; the server resets instead, so ignore.
      this.host.o.logger.warn(
        { conversationId: this.id },
        'parley: replay from an unexpected epoch',
      );
    }
    this._epoch = f.epoch;
    this.syncing = false;
    let changed = false;
    for (const m of [...f.messages].sort((a, b) => a.seq - b.seq)) {
      changed = this.deliverInOrder(m) || changed;
    }
    this.head = Math.max(this.head, f.seq);
    if (this.buffer.size > 0) this.fill();
    if (changed) this.touch();
  }

  /** @internal */
  _reset(f: ResetFrame): void {
    this.stored = [];
    this.buffer.clear();
    this.syncing = false;
    this.cursor = f.seq;
    this.head = f.seq;
    this._epoch = f.epoch;
    this._hasMore = f.seq > 0;
    const ev: ResetEvent = {
      conversationId: this.id,
      reason: f.reason,
      epoch: f.epoch,
      seq: f.seq,
    };
    this._emit('reset', ev);
    this.host.reset(ev);
    this.touch();
  }

  /**
   * @internal The ack arrived. The stored message goes through the same in-order path: when it
   * is next in seq it replaces the optimistic entry now; past a gap the optimistic entry stays
   * visible until the fill delivers it in place (the app never sees a hole).
   */
  _ack(m: Message): void {
    this._receive(m);
  }

  /** @internal */
  _addPending(item: OutboxItem): void {
    this.pending = [
      ...this.pending.filter((p) => p.clientMsgId !== item.clientMsgId),
      this.optimistic(item, 'pending'),
    ];
    this.touch();
  }

  /** @internal */
  _failed(item: OutboxItem, error: ParleyError): void {
    this.pending = this.pending.map((p) =>
      p.clientMsgId === item.clientMsgId ? { ...this.optimistic(item, 'failed'), error } : p,
    );
    this.touch();
  }

  /** @internal */
  _typing(f: TypingStateFrame): void {
    if (f.userId === this.host.userId) return;
    this.remoteTyping.set(
      f.userId,
      f.state === 'start' ? (f.ttlMs > 0 ? f.ttlMs : this.host.o.typing.expireMs) : 0,
    );
  }

  /** @internal */
  _read(userId: string, seq: number): void {
    if (userId === this.host.userId) {
      if (seq <= this._readSeq) return;
      this._readSeq = seq;
    } else {
      if (seq <= (this._reads.get(userId) ?? 0)) return;
      this._reads.set(userId, seq);
    }
    this._emit('read', { conversationId: this.id, userId, seq });
    this.touch();
  }

  /** @internal */
  _event(e: AppEvent<E>): void {
    this._emit('event', e);
  }

  /** @internal The server refused the fill (e.g. `forbidden`): stop waiting; the next gap retries. */
  _syncFailed(): void {
    this.syncing = false;
  }

  /** @internal The link went down: buffered messages will come again with the resume. */
  _down(): void {
    this.buffer.clear();
    this.syncing = false;
    this.localTyping.reset();
  }

  /** @internal */
  _cursor(): { seq: number; epoch: string } | undefined {
    return this._epoch === undefined ? undefined : { seq: this.cursor, epoch: this._epoch };
  }

  /** @internal */
  _dispose(): void {
    this._down();
    this.remoteTyping.clear();
  }

  private optimistic(item: OutboxItem, status: 'pending' | 'failed'): OptimisticMessage {
    const m: OptimisticMessage = {
      status,
      clientMsgId: item.clientMsgId,
      conversationId: item.conversationId,
      text: item.text,
      senderId: this.host.userId ?? '',
      kind: 'user',
      createdAt: item.createdAt,
      retry: () => {
        this._addPending(item);
        return this.host.resend(item);
      },
    };
    if (item.data !== undefined) m.data = item.data;
    return m;
  }

  private deliverInOrder(m: Message): boolean {
    if (m.seq <= this.cursor) return false;
    if (m.seq > this.cursor + 1) {
      this.buffer.set(m.seq, m);
      this.fill();
      return false;
    }
    this.deliver(m);
    for (
      let next = this.buffer.get(this.cursor + 1);
      next !== undefined;
      next = this.buffer.get(this.cursor + 1)
    ) {
      this.buffer.delete(next.seq);
      this.deliver(next);
    }
    for (const seq of this.buffer.keys()) if (seq <= this.cursor) this.buffer.delete(seq);
    if (this.buffer.size > 0) this.fill();
    return true;
  }

  private deliver(m: Message): void {
    const stored: StoredMessage = { ...m, status: 'sent' };
    this.stored.push(stored);
    this.cache = undefined;
    this.cursor = m.seq;
    this.head = Math.max(this.head, m.seq);
    if (this.pending.length > 0)
      this.pending = this.pending.filter((p) => p.clientMsgId !== m.clientMsgId);
    if (this.remoteTyping.has(m.senderId)) this.remoteTyping.set(m.senderId, 0);
    this.host.delivered(this, stored);
    this._emit('message', stored);
  }

  /** A seq jump while connected: ask for everything after the cursor (answered by replay/reset). */
  private fill(): void {
    if (this.syncing || !this.host.isReady()) return;
    const frame: SyncFrame = { type: 'sync', conversationId: this.id, after: this.cursor };
    if (this._epoch !== undefined) frame.epoch = this._epoch;
    this.syncing = this.host.sync(this, frame);
  }

  private flushRead(): void {
    if (this.unsentRead === undefined || !this.host.isReady()) return;
    if (this.host.sendFrame({ type: 'read', conversationId: this.id, seq: this.unsentRead })) {
      this.unsentRead = undefined;
    }
  }

  /** @internal Re-sends an unsent read position after reconnecting. */
  _flushRead(): void {
    this.flushRead();
  }

  private touch(): void {
    this.cache = undefined;
    this._emit('update');
    this.host.changed(this);
  }
}
