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
   * Read up to `seq` (on this device, or by sending: sending marks read). Below the hub's count's
   * seq the count is capped by the seqs in between (the hub's next count is exact).
   */
  read(seq: number): void {
    if (seq >= this.at) this.set(0, seq);
    else this.count = Math.min(this.count, this.at - seq);
    this.after = this.after.filter((s) => s > seq);
  }
}
