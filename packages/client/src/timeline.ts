/**
 * The view of one conversation: a bounded window of stored messages (seq order, contiguous, the
 * newest `maxMessages`), then this device's pending and failed sends in send order. A pending
 * entry leaves when its stored message enters the window — or, when the hub stored it but the
 * message is not in the window (before a `reset`, or waiting past a gap), when the send is
 * settled: at once if the ordering core is already past it, else when the core delivers it or a
 * `reset` voids the window. So a stored message is never shown beside a pending copy of itself.
 */
import type { Message } from '@parley/protocol/core';
import { applyOp, pendingOp } from './ops.js';
import type { OutboxItem } from './outbox-storage.js';
import type { ClientMessage, OptimisticMessage, StoredMessage } from './types.js';
import { countable } from './util.js';

export class Timeline {
  private stored: StoredMessage[] = [];
  /** Optimistic entries by `clientMsgId`, in send order (a Map keeps insertion order). */
  private readonly pending = new Map<string, OptimisticMessage>();
  /** Settled sends whose message the core holds back (past a gap); a subset of `pending`. */
  private readonly awaiting = new Set<string>();
  /** This device's unacknowledged operations by `clientMsgId`, shown over their targets. */
  private readonly ops = new Map<string, OutboxItem>();
  /** Stored operations whose target is not held (see `apply`). */
  private orphans: Message[] = [];
  private cache: readonly ClientMessage[] | undefined;

  constructor(
    private readonly max: number,
    private readonly me: () => string,
  ) {}

  /**
   * Stored countable messages (operations hold their seq in the window but are applied, not
   * shown) with this device's pending operations over them, then optimistic sends: a new array
   * after every change.
   */
  get list(): readonly ClientMessage[] {
    this.cache ??= [
      ...this.stored.filter(countable).map((m) => {
        for (const op of this.ops.values())
          if (op.target === m.seq) m = applyOp(m, pendingOp(op, this.me()));
        return m;
      }),
      ...this.pending.values(),
    ];
    return this.cache;
  }

  /**
   * A stored operation: applied to its target when held, by the version rule. One whose target is
   * not held is kept (the newest 500) and applied to a page that brings the target: a page read
   * before the operation was stored may arrive after it.
   */
  apply(op: Message): void {
    const i = op.target! - (this.stored[0]?.seq ?? 0);
    const t = this.stored[i];
    if (t === undefined || t.seq !== op.target) {
      if (this.orphans.push(op) > 500) this.orphans.shift();
    } else if (op.seq > (t.version ?? 0) && countable(t)) {
      this.stored[i] = applyOp(t, op, op.seq);
      this.cache = undefined;
    }
  }

  /** Shows one of this device's operations over its target until it is settled or fails. */
  op(item: OutboxItem): void {
    this.ops.set(item.clientMsgId, item);
    this.cache = undefined;
  }

  get messages(): readonly StoredMessage[] {
    return this.stored;
  }

  /** The next message in seq order. True when the window dropped its oldest. */
  append(m: StoredMessage): boolean {
    this.stored.push(m);
    this.unpend(m.clientMsgId);
    this.cache = undefined;
    const over = this.stored.length - this.max;
    if (over > 0) this.stored.splice(0, over);
    return over > 0;
  }

  /** Older messages (a history page), right before the window. */
  prepend(older: readonly StoredMessage[]): void {
    this.stored = [...older, ...this.stored];
    for (const m of older) this.unpend(m.clientMsgId);
    const orphans = this.orphans;
    this.orphans = [];
    for (const op of orphans) this.apply(op);
    this.cache = undefined;
  }

  /** A reset: the window is void, and so are entries of sends already stored (before its head). */
  clear(): void {
    this.stored = [];
    this.orphans = [];
    for (const id of this.awaiting) this.unpend(id);
    this.cache = undefined;
  }

  /**
   * A send was stored: its entry goes now (`delivered`: the core is past it), or when its message
   * is delivered or a reset voids the window. True when the list changed.
   */
  settled(clientMsgId: string, delivered: boolean): boolean {
    if (delivered) return this.unpend(clientMsgId);
    if (this.pending.has(clientMsgId) || this.ops.has(clientMsgId)) this.awaiting.add(clientMsgId);
    return false;
  }

  /** Shows an entry: at the end (send order), or in place of the one with its id (`inPlace`). */
  put(m: OptimisticMessage, inPlace = false): void {
    if (!inPlace) this.pending.delete(m.clientMsgId);
    this.pending.set(m.clientMsgId, m);
    this.cache = undefined;
  }

  /** Removes this very entry (not a newer one with its id). True when it was shown. */
  drop(m: OptimisticMessage): boolean {
    return this.pending.get(m.clientMsgId) === m && this.unpend(m.clientMsgId);
  }

  /** Rewrites every optimistic entry (e.g. to fill in the sender id learnt at `welcome`). */
  relabel(fn: (m: OptimisticMessage) => OptimisticMessage): void {
    for (const [id, m] of this.pending) this.pending.set(id, fn(m));
    this.cache = undefined;
  }

  /** Removes the entry with this id. True when there was one. */
  unpend(clientMsgId: string): boolean {
    this.awaiting.delete(clientMsgId);
    if (!this.pending.delete(clientMsgId) && !this.ops.delete(clientMsgId)) return false;
    this.cache = undefined;
    return true;
  }
}
