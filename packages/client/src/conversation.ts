/**
 * A conversation handle: the client owns one per conversation id (`client.conversation(id)`
 * always returns the same object, across leave and rejoin). It joins the ordering core
 * ({@link Sequencer}: cursor, buffer, gap fill) to the view ({@link Timeline}: the bounded window
 * the app renders), and holds typing, reads and the conversation's custom events.
 */
import type {
  ClientFrame,
  ConversationMeta,
  EventInput,
  EventName,
  EventSchemas,
  HistoryPageFrame,
  HistoryRequestFrame,
  JsonValue,
  Message,
  ReplayFrame,
  ResetFrame,
  TypingStateFrame,
} from '@parley/protocol/core';
import { Emitter } from './emitter.js';
import type { ParleyError } from './errors.js';
import { applyOp } from './ops.js';
import type { ResolvedOptions } from './options.js';
import type { OutboxItem } from './outbox-storage.js';
import { Sequencer } from './sequencer.js';
import { Timeline } from './timeline.js';
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
import { Unread } from './unread.js';
import { countable, noop } from './util.js';

/** Events of a conversation. */
export type ConversationEvents<E extends EventSchemas> = {
  /** A stored message was appended in seq order (live, replayed or gap-filled). */
  message: (message: StoredMessage) => void;
  /** Anything changed (messages, statuses, typing, reads, membership): re-render. */
  update: () => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  /** Local messages were dropped (history trimmed or epoch changed): refetch with `loadOlder`. */
  reset: (event: ResetEvent) => void;
  /** A custom event from another member, validated against the app's schemas. */
  event: (event: AppEvent<E>) => void;
  /** This user was removed from the conversation. */
  left: () => void;
  /** The metadata (title, avatar, members, app data) arrived or changed. */
  meta: (meta: ConversationMeta) => void;
};

/** What a send or an operation queues (besides its ids and time). @internal */
export type SendFields = Omit<OutboxItem, 'clientMsgId' | 'conversationId' | 'createdAt'>;

/** What a conversation needs from its client. @internal */
export interface ConversationHost<E extends EventSchemas> {
  readonly o: ResolvedOptions<E>;
  readonly userId: string | undefined;
  isReady(): boolean;
  /** The session start of the current link is complete (`synced`). */
  isSynced(): boolean;
  sendFrame(frame: ClientFrame): boolean;
  send(conv: Conversation<E>, fields: SendFields): Promise<StoredMessage>;
  retry(conv: Conversation<E>, item: OutboxItem): Promise<StoredMessage>;
  _history(frame: HistoryRequestFrame): Promise<HistoryPageFrame>;
  /** Sends a gap-fill `sync`; false when it could not be sent. */
  sync(conv: Conversation<E>, after: number, epoch: string | undefined): boolean;
  emitEvent(target: { conversationId: string }, name: string, payload: unknown): Promise<void>;
  /** One of this user's messages is stored: settles its send. */
  settle(conv: Conversation<E>, message: Message): void;
  delivered(conv: Conversation<E>, message: StoredMessage): void;
  changed(conv: Conversation<E>): void;
  _resetIn(event: ResetEvent): void;
}

export class Conversation<E extends EventSchemas = Record<never, never>> extends Emitter<
  ConversationEvents<E>
> {
  private readonly core: Sequencer;
  private readonly view: Timeline;
  private _readSeq = 0;
  private unsentRead: number | undefined;
  /** The debounced `read` frame's timer, and when its wait began (`read.maxDelayMs`). */
  private _readTimer: ReturnType<typeof setTimeout> | undefined;
  private _readSince: number | undefined;
  private readonly _reads = new Map<string, number>();
  private readonly localTyping: LocalTyping;
  private readonly remoteTyping: RemoteTyping;
  private _hasMore = true;
  private _joined = false;
  private _lastReset: ResetEvent | undefined;
  private loading: Promise<readonly StoredMessage[]> | undefined;
  private readonly _unread = new Unread();
  private _meta: ConversationMeta | undefined;
  /** The newest countable stored message known (from the stream, a page or the summary). */
  private _last: StoredMessage | undefined;
  /** `open()` was called: the newest page is kept loaded (after a reset too). */
  private opened = false;

  /** @internal */
  constructor(
    /** The conversation id. */
    readonly id: string,
    private readonly host: ConversationHost<E>,
  ) {
    super((err) => host.o.logger.error({ err, conversationId: id }, 'parley: a listener threw'));
    this.core = new Sequencer(
      (m) => this.deliver(m),
      (after, epoch) => host.sync(this, after, epoch),
    );
    this.view = new Timeline(host.o.maxMessages, () => host.userId ?? '');
    this.localTyping = new LocalTyping(host.o.typing, host.o.now, (state) =>
      host.sendFrame({ type: 'typing', conversationId: id, state }),
    );
    this.remoteTyping = new RemoteTyping((userId, typing) => {
      this._emit('typing', { conversationId: id, userId, typing, users: this.typingUsers });
      this.touch();
    });
  }

  /**
   * Stored messages in seq order (at most `maxMessages`, the newest, plus what `loadOlder`
   * added), then this client's optimistic ones in send order. A new array after every change.
   */
  get messages(): readonly ClientMessage[] {
    return this.view.list;
  }

  /** Highest contiguous seq held (the resume cursor). */
  get seq(): number {
    return this.core.cursor;
  }

  /** Epoch of the local history. */
  get epoch(): string | undefined {
    return this.core.epoch;
  }

  /** This user's read position (monotonic). */
  get readSeq(): number {
    return this._readSeq;
  }

  /** Other members' read positions, by user id. */
  get reads(): ReadonlyMap<string, number> {
    return this._reads;
  }

  /**
   * Countable messages (`user`/`system`) from others after the own read position, as the hub
   * counts them (`welcome`, `reset`, `joined`, the user's reads on other devices), plus those
   * delivered since. Own messages are never unread: sending marks read.
   */
  get unreadCount(): number {
    return this._unread.value;
  }

  /** Title, avatar, members and app data, when the hub sends them (`summary`, `conversation`). */
  get meta(): ConversationMeta | undefined {
    return this._meta;
  }

  /** The newest countable message: this device's newest unsent one, else the newest stored. */
  get lastMessage(): ClientMessage | undefined {
    const list = this.view.list;
    const tail = list[list.length - 1];
    return tail !== undefined && tail.status !== 'sent' ? tail : this._last;
  }

  /** Users typing now (never this user). */
  get typingUsers(): readonly string[] {
    return this.remoteTyping.list();
  }

  /** False once `loadOlder` reached the beginning of the history. */
  get hasMore(): boolean {
    return this._hasMore;
  }

  /** True while the user is a member: listed by the hub's `welcome` or `joined`, not `left` since. */
  get joined(): boolean {
    return this._joined;
  }

  /** The last `reset` (the local history was dropped), for a notice in the UI. */
  get lastReset(): ResetEvent | undefined {
    return this._lastReset;
  }

  /**
   * Sends a message (`replyTo`: the seq of the message it answers; the stored message carries
   * it). The optimistic entry appears at once (status `pending`); the promise resolves with the
   * stored message, or rejects with a `ParleyError` (the entry then has status `failed`, `error`,
   * and a `retry()`).
   */
  send(text: string, options: { data?: JsonValue; replyTo?: number } = {}): Promise<StoredMessage> {
    this.stopTyping();
    return this.host.send(this, { text, data: options.data, replyTo: options.replyTo });
  }

  /**
   * Edits the stored message `seq` (new `text`, and `data`: absent removes it). Like a send it goes
   * through the outbox (in order, retried, persisted) and shows at once; the promise resolves
   * with the stored operation, or rejects with a `ParleyError` (`forbidden`: not your message,
   * `not_found`, `rejected` by the app) — the message then shows its stored state again.
   */
  edit(seq: number, text: string, options: { data?: JsonValue } = {}): Promise<StoredMessage> {
    return this.host.send(this, { op: 'edit', target: seq, text, data: options.data });
  }

  /** Deletes the stored message `seq`: a tombstone (`deleted: true`) that keeps its place. As {@link edit}. */
  delete(seq: number): Promise<StoredMessage> {
    return this.host.send(this, { op: 'delete', target: seq, text: '' });
  }

  /**
   * Adds (`on: true`) or removes (`on: false`) this user's reaction `emoji` to the stored message
   * `seq`; without `on`, toggles it. As {@link edit}.
   */
  react(seq: number, emoji: string, on?: boolean): Promise<StoredMessage> {
    const me = this.host.userId ?? '';
    on ??= !this.get(seq)?.reactions?.[emoji]?.includes(me);
    return this.host.send(this, { op: 'react', target: seq, text: '', emoji, on });
  }

  /** The held message with this seq (e.g. the one a reply answers), as shown. */
  get(seq: number): StoredMessage | undefined {
    return this.view.list.find((m): m is StoredMessage => m.seq === seq);
  }

  /** Call on every keystroke: sends at most one `start` per throttle window and `stop` after idling. */
  typing(): void {
    if (this.host.isReady()) this.localTyping.keystroke();
  }

  /** Ends the typing state now (also done on `send` and after idling). */
  stopTyping(): void {
    this.localTyping.stop();
  }

  /**
   * Marks read up to `seq` (default: the newest held message). Monotonic. `readSeq`, the unread
   * count and the `read` event change at once; the frame is debounced (`read` option) and sent when
   * connected.
   */
  markRead(seq?: number): void {
    const newest = Math.max(this.core.cursor, this.core.head);
    const target = Math.min(seq ?? newest, newest);
    // Local state and event at once (a seq ≥ 1 came with a welcome: the user id is known).
    if (!this._read(this.host.userId!, target)) return;
    this.unsentRead = target;
    // The frame waits for `read.delayMs` of quiet, at most `read.maxDelayMs` after the first call.
    const o = this.host.o;
    const now = o.now();
    this._readSince ??= now;
    clearTimeout(this._readTimer);
    this._readTimer = setTimeout(
      () => this._flushRead(),
      Math.min(o.read.delayMs, this._readSince + o.read.maxDelayMs - now),
    );
  }

  /**
   * Loads up to `limit` older messages and prepends them. Resolves with the loaded messages.
   * Calls made while one is loading share its request.
   */
  loadOlder(limit = 50): Promise<readonly StoredMessage[]> {
    this.loading ??= this.fetchOlder(limit).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Opens the conversation: loads the newest page (`history`) unless `limit` messages are held
   * already, and keeps it loaded — after a `reset`, and at every reconnect's `synced`. A client
   * holds no messages of a conversation it has no cursor for until then (cold start costs
   * O(conversations)). Resolves with what was loaded (`[]` when nothing was needed, or when not
   * connected yet: the page loads at `synced`).
   */
  open(limit = 50): Promise<readonly StoredMessage[]> {
    this.opened = true;
    return this.host.isSynced() && this._hasMore && this.view.messages.length < limit
      ? this.loadOlder(limit)
      : Promise.resolve([]);
  }

  /** Sends a custom event to the conversation's other members (validated with the app's schema). */
  emit<K extends EventName<E>>(name: K, payload: EventInput<E, K>): Promise<void> {
    return this.host.emitEvent({ conversationId: this.id }, name, payload);
  }

  // --- driven by the client ------------------------------------------------------------------

  /**
   * @internal Listed by a `welcome`. Without a cursor in the hello (`resumed` false) nothing is
   * replayed: the conversation starts at the hub's head, and `open`/`loadOlder` page it in.
   */
  _welcome(
    c: {
      seq: number;
      epoch: string;
      readSeq: number;
      unread: number;
      reads?: Record<string, number> | undefined;
    },
    resumed: boolean,
  ): void {
    this._joined = true;
    if (!resumed) this.startAt(c.seq, c.epoch);
    this.core.epoch ??= c.epoch;
    if (c.seq > this.core.head) this.core.head = c.seq;
    this.readAt(c);
    // Optimistic messages restored from storage before the first welcome did not know the user.
    const me = this.host.userId ?? '';
    this.view.relabel((p) => (p.senderId === '' ? { ...p, senderId: me } : p));
    for (const [user, seq] of Object.entries(c.reads ?? {})) {
      this._seen(user, seq);
    }
    // A pending read goes out with the client's `_flushRead` after the welcome.
    this.touch();
  }

  /** @internal Joined at runtime: its history before `seq` is available via `loadOlder`. */
  _joinedAt(f: { seq: number; epoch: string; readSeq?: number; unread?: number }): void {
    this._joined = true;
    this.startAt(f.seq, f.epoch);
    this.readAt(f);
    this.touch();
  }

  /** @internal A `summary` entry (after `welcome`) or a `conversation` frame (meta changed). */
  _summary(last: Message | undefined, meta: ConversationMeta | undefined): void {
    if (last !== undefined) this.setLast({ ...last, status: 'sent' });
    if (meta !== undefined) {
      this._meta = meta;
      this._emit('meta', meta);
    }
    this.touch();
  }

  /** @internal The session start is complete: an opened conversation gets its newest page. */
  _synced(): void {
    if (this.opened) this.open().catch(noop);
  }

  /**
   * @internal Removed (a `left` frame, or missing from a `welcome`): the local history goes (a
   * rejoin starts from the hub's head); pending sends stay until the hub refuses them.
   */
  _left(): void {
    this._joined = false;
    this.core.clear();
    this.view.clear();
    this._last = undefined;
    this._hasMore = true;
    this.localTyping.reset();
    this.remoteTyping.clear();
    this._emit('left');
    this.touch();
  }

  /** @internal Any stored message: delivered in order, buffered past a gap, dropped when duplicate. */
  _receive(m: Message): void {
    if (this.core.receive(m)) this.touch();
  }

  /** @internal */
  _replay(f: ReplayFrame): void {
    if (this.core.replay(f)) this.touch();
  }

  /** @internal */
  _reset(f: ResetFrame): void {
    this.core.reset(f);
    this.view.clear();
    this._hasMore = f.seq > 0;
    // Another epoch numbers from 1 again: what was known of the old one goes.
    if (f.reason === 'epoch_changed') {
      this._last = undefined;
      this._readSeq = 0;
    }
    this.readAt(f);
    if (this.opened) this.open().catch(noop);
    const ev: ResetEvent = {
      conversationId: this.id,
      reason: f.reason,
      epoch: f.epoch,
      seq: f.seq,
    };
    this._lastReset = ev;
    this._emit('reset', ev);
    this.host._resetIn(ev);
    this.touch();
  }

  /** @internal One of this user's sends was stored (ack, stream or history): reconcile the view. */
  _settled(m: Message): void {
    if (this.view.settled(m.clientMsgId, m.seq <= this.core.cursor)) this.touch();
  }

  /** @internal A queued send (an optimistic entry) or operation (shown over its target). */
  _pending(item: OutboxItem): void {
    if (item.op !== undefined) this.view.op(item);
    else this.view.put(this.optimistic(item, 'pending'));
    this.touch();
  }

  /** @internal A send failed (its entry shows it), or an operation did (it is rolled back). */
  _failed(item: OutboxItem, error: ParleyError): void {
    if (item.op !== undefined) this.view.unpend(item.clientMsgId);
    else this.view.put(this.optimistic(item, 'failed', error), true);
    this.touch();
  }

  /** @internal A failed send is retried under a fresh id: its old entry goes. */
  _forget(clientMsgId: string): void {
    if (this.view.unpend(clientMsgId)) this.touch();
  }

  /** @internal */
  _typing(f: TypingStateFrame): void {
    if (f.userId === this.host.userId) return;
    this.remoteTyping.set(
      f.userId,
      f.state === 'start' ? (f.ttlMs > 0 ? f.ttlMs : this.host.o.typing.expireMs) : 0,
    );
  }

  /**
   * @internal A member's read position; this user's own (another device) carries the hub's
   * unread count at seq `unread.at`.
   */
  _read(userId: string, seq: number, unread?: { count: number; at: number }): boolean {
    if (userId === this.host.userId) {
      if (seq <= this._readSeq) return false;
      this._readSeq = seq;
      if (unread === undefined) this._unread.read(seq);
      else if (unread.at >= this._unread.at) this._unread.set(unread.count, unread.at);
    } else if (!this._seen(userId, seq)) return false;
    this._emit('read', { conversationId: this.id, userId, seq });
    this.touch();
    return true;
  }

  /** @internal */
  _event(e: AppEvent<E>): void {
    this._emit('event', e);
  }

  /** @internal The fill ended without an answer (refused, timed out, link dropped). */
  _unfilled(): void {
    this.core.unfilled();
  }

  /** @internal The link went down: buffered messages will come again with the resume. */
  _down(): void {
    this.core.down();
    this.localTyping.reset();
  }

  /** @internal Resume cursor for `hello` (none while not a member). */
  _cursor(): { seq: number; epoch: string } | undefined {
    const epoch = this.core.epoch;
    return this._joined && epoch !== undefined ? { seq: this.core.cursor, epoch } : undefined;
  }

  /** @internal */
  _dispose(): void {
    this._down();
    clearTimeout(this._readTimer);
    this.remoteTyping.clear();
  }

  private async fetchOlder(limit: number): Promise<readonly StoredMessage[]> {
    const first = () => this.view.messages[0]?.seq ?? this.core.cursor + 1;
    const before = first();
    const epoch = this.core.epoch;
    if (before <= 1) {
      this._hasMore = false;
      return [];
    }
    const page = await this.host._history({
      type: 'history',
      conversationId: this.id,
      before,
      limit,
    });
    // A reset, a rejoin or a trim meanwhile: the page no longer joins the window.
    if (this.core.epoch !== epoch || first() !== before) return [];
    const older: StoredMessage[] = [];
    // Only the run that ends right before the window: never a hole.
    const sorted = page.messages.filter((m) => m.seq < before).sort((a, b) => b.seq - a.seq);
    for (const m of sorted) {
      if (m.seq !== before - 1 - older.length) break;
      older.unshift({ ...m, status: 'sent' });
    }
    this._hasMore = page.hasMore || older.length < sorted.length;
    if (older.length > 0) {
      this.view.prepend(older);
      const last = [...older].reverse().find(countable);
      if (last !== undefined) this.setLast(last);
      const me = this.host.userId;
      for (const m of older) if (m.senderId === me) this.host.settle(this, m);
      this.touch();
    }
    return older;
  }

  private optimistic(
    item: OutboxItem,
    status: 'pending' | 'failed',
    error?: ParleyError,
  ): OptimisticMessage {
    const m: OptimisticMessage = {
      status,
      clientMsgId: item.clientMsgId,
      conversationId: item.conversationId,
      text: item.text,
      senderId: this.host.userId ?? '',
      kind: 'user',
      createdAt: item.createdAt,
      retry: () => this.host.retry(this, item),
      discard: () => {
        if (status === 'failed' && this.view.drop(m)) this.touch();
      },
    };
    if (item.data !== undefined) m.data = item.data;
    if (item.replyTo !== undefined) m.replyTo = item.replyTo;
    if (error !== undefined) m.error = error;
    return m;
  }

  private deliver(m: Message): void {
    const stored: StoredMessage = { ...m, status: 'sent' };
    if (this.view.append(stored)) this._hasMore = true;
    // An operation changes its target in place (the window's copy and the inbox's last message).
    const l = this._last;
    if (m.target !== undefined && !countable(m)) {
      this.view.apply(m);
      if (l?.seq === m.target && m.seq > (l.version ?? 0)) this._last = applyOp(l, m, m.seq);
    }
    if (this.remoteTyping.has(m.senderId)) this.remoteTyping.set(m.senderId, 0);
    const mine = m.senderId === this.host.userId;
    if (countable(m)) {
      this.setLast(stored);
      if (!mine) {
        this._unread.add(m.seq);
        // The sender has read up to their own message.
        this._seen(m.senderId, m.seq);
      } else if (m.seq > this._unread.at) {
        // Sending marks read (PROTOCOL.md, "Unread counts").
        this._unread.read(m.seq);
        if (m.seq > this._readSeq) this._readSeq = m.seq;
      }
    }
    if (mine) this.host.settle(this, m);
    this.host.delivered(this, stored);
    this._emit('message', stored);
  }

  /** Starts over at the hub's head (no cursor, or joined in another epoch): the window is void. */
  private startAt(seq: number, epoch: string): void {
    if (this.core.joined(seq, epoch)) {
      this.view.clear();
      this._hasMore = seq > 0;
    }
  }

  /**
   * The hub's read position and unread count at `seq` (`welcome`, `reset`, `joined`). A read
   * position of this device the hub does not know (its `read` was lost with a link) is sent again.
   */
  private readAt(f: { seq: number; readSeq?: number | undefined; unread?: number | undefined }) {
    const hub = f.readSeq ?? 0;
    if (hub > this._readSeq) this._readSeq = hub;
    this._unread.set(f.unread ?? Math.max(0, f.seq - this._readSeq), f.seq);
    if (this._readSeq > hub) {
      this._unread.read(this._readSeq);
      this.unsentRead = this._readSeq;
      this._flushRead();
    }
  }

  /** Raises another member's read position; false when it is not higher. */
  private _seen(userId: string, seq: number): boolean {
    if (seq <= (this._reads.get(userId) ?? 0)) return false;
    this._reads.set(userId, seq);
    return true;
  }

  private setLast(m: StoredMessage): void {
    if (m.seq >= (this._last?.seq ?? 0)) this._last = m;
  }

  /** @internal Sends the pending read now (when connected; else at the next `welcome`). */
  _flushRead(): void {
    const seq = this.unsentRead;
    if (seq !== undefined && this.host.sendFrame({ type: 'read', conversationId: this.id, seq })) {
      this.unsentRead = this._readSince = undefined;
    }
  }

  private touch(): void {
    this._emit('update');
    this.host.changed(this);
  }
}
