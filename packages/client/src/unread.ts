/**
 * A conversation's unread count, as the hub computes it (PROTOCOL.md, "Unread counts"): the
 * last authoritative value — `count` up to seq `at`, from `welcome`, `reset`, `joined` or a
 * `read` frame of this user's other device — plus the countable messages from others delivered
 * after `at`. So the count is the same on every device, after a reset and on a new device.
 */
export class Unread {
  private count = 0;
  /** The seq the authoritative count was computed at. */
  at = 0;
  /** Seqs of countable messages from others after `at`, ascending. */
  private after: number[] = [];

  get value(): number {
    return this.count + this.after.length;
  }

  /** An authoritative value: `count` unread up to seq `at`. */
  set(count: number, at: number): void {
    this.count = count;
    this.at = at;
    this.after = this.after.filter((s) => s > at);
  }

  /** A countable message from someone else was delivered (in seq order). */
  add(seq: number): void {
    if (seq > this.at) this.after.push(seq);
  }

  /**
   * Read up to `seq` (this device, or this user's own message: sending marks read). `between`
   * counts the unread held in (seq, at] when the window holds them all (else the hub's count is
   * capped by the seqs in that range).
   */
  read(seq: number, between: number | undefined): void {
    if (seq >= this.at) this.set(0, seq);
    else this.set(Math.min(this.count, between ?? this.at - seq), this.at);
    this.after = this.after.filter((s) => s > seq);
  }
}
