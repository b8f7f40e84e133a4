/**
 * The ordering core of one conversation: the cursor (highest contiguous seq held), the epoch, a
 * bounded buffer of messages past a gap, and the gap fill. It delivers every stored message once,
 * in seq order, and never past a hole: a seq jump sends one `sync` (answered by a `replay` or a
 * `reset`, or ended by its deadline — see the client) and later messages wait in the buffer.
 * It knows nothing of what is displayed (that is the {@link Timeline}).
 */
import type { Message, ReplayFrame, ResetFrame } from '@parley/protocol/core';

/** Messages held past a gap; beyond it they are dropped and fetched again by the next fill. */
export const MAX_BUFFERED = 1_000;

export class Sequencer {
  /** Highest contiguous seq delivered (the resume cursor). */
  cursor = 0;
  epoch: string | undefined;
  /** Highest seq known to exist (welcome, joined, live messages). */
  head = 0;
  private readonly buffer = new Map<number, Message>();
  private syncing = false;
  /** A message was dropped from a full buffer: fill again after the current fill. */
  private dropped = false;

  constructor(
    private readonly deliver: (m: Message) => void,
    /** Sends a gap-fill `sync` for everything after `after`; false when it could not be sent. */
    private readonly sync: (after: number, epoch: string | undefined) => boolean,
  ) {}

  /** A stored message from anywhere. True when something was delivered. */
  receive(m: Message): boolean {
    if (m.seq <= this.cursor) return false;
    if (m.seq > this.head) this.head = m.seq;
    if (m.seq > this.cursor + 1) {
      if (this.buffer.size < MAX_BUFFERED) this.buffer.set(m.seq, m);
      else this.dropped = true;
      this.fill();
      return false;
    }
    this.take(m);
    for (let n = this.buffer.get(this.cursor + 1); n; n = this.buffer.get(this.cursor + 1)) {
      this.buffer.delete(n.seq);
      this.take(n);
    }
    if (this.buffer.size > 0) this.fill();
    return true;
  }

  /** The answer to a resume or a fill: every message after the cursor, in order. */
  replay(f: ReplayFrame): boolean {
    const before = this.cursor;
    this.epoch = f.epoch;
    this.syncing = false;
    let any = false;
    for (const m of [...f.messages].sort((a, b) => a.seq - b.seq)) any = this.receive(m) || any;
    if (f.seq > this.head) this.head = f.seq;
    // Another fill only when this one made progress (a hub cannot make the client loop).
    if (this.cursor > before && (this.buffer.size > 0 || this.dropped)) this.fill();
    return any;
  }

  /** The hub could not fill the gap: start over at its head. */
  reset(f: ResetFrame): void {
    this.clear();
    this.cursor = this.head = f.seq;
    this.epoch = f.epoch;
  }

  /** Joined at runtime: a new epoch starts over at `seq` (true: the local history is void). */
  joined(seq: number, epoch: string): boolean {
    if (seq > this.head) this.head = seq;
    if (this.epoch === epoch) return false;
    this.clear();
    this.cursor = this.head = seq;
    this.epoch = epoch;
    return true;
  }

  /** The fill ended without an answer (refused, timed out, link dropped). */
  unfilled(): void {
    this.syncing = false;
  }

  /** The link dropped: buffered messages come again with the resume. */
  down(): void {
    this.buffer.clear();
    this.syncing = false;
    this.dropped = false;
  }

  /** Forgets everything (the user left the conversation). */
  clear(): void {
    this.down();
    this.cursor = this.head = 0;
    this.epoch = undefined;
  }

  private take(m: Message): void {
    this.cursor = m.seq;
    this.deliver(m);
  }

  private fill(): void {
    if (this.syncing) return;
    this.dropped = false;
    this.syncing = this.sync(this.cursor, this.epoch);
  }
}
