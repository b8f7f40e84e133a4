/**
 * One conversation's history in the memory engine, held compactly (issue 15): each message as the
 * JSON string of its current state, plus its `createdAt` and the countable seqs as plain number
 * arrays. A major GC marks one string per message instead of tracing a graph of objects per
 * message. A range or a page returns the JSON of the messages it covers (the replay and the
 * history frame splice it); `get` parses a fresh object each time, never the engine's state.
 */
import type { Message } from '@parley/protocol';
import { UNREAD_INDEX_MAX } from '../types.js';

/** Index of the first element of a sorted array greater than `x`. */
export const upperBound = (a: readonly number[], x: number): number => {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const parse = (json: string): Message => JSON.parse(json) as Message;

export class ConversationLog {
  /** Newest seq; 0 before the first message. */
  seq = 0;
  /** Seq of `json[0]`: the held messages are contiguous by seq, `first .. seq`. */
  private first = 1;
  /** JSON of each held message, in its current state. */
  private readonly json: string[] = [];
  /** `createdAt` of each held message (the age trim reads it without parsing). */
  private readonly createdAt: number[] = [];
  /** Seqs of the countable messages, ascending (at least the newest {@link UNREAD_INDEX_MAX}). */
  readonly countable: number[] = [];

  constructor(
    private readonly maxMessages: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  /** Stores the next message (`message.seq` must be `seq + 1`) as `json`, then trims. */
  push(message: Message, json: string, countable: boolean): void {
    this.seq = message.seq;
    this.json.push(json);
    this.createdAt.push(message.createdAt);
    if (countable) {
      this.countable.push(message.seq);
      // Amortised: drop the oldest in batches rather than shifting on every append.
      if (this.countable.length > UNREAD_INDEX_MAX + 1000) this.countable.splice(0, 1000);
    }
    this.trim();
  }

  /** Drops messages past the count bound and those older than the age bound. */
  trim(): void {
    const cutoff = this.now() - this.maxAgeMs;
    const n = this.json.length;
    let drop = Math.max(0, n - this.maxMessages);
    while (drop < n && this.createdAt[drop]! < cutoff) drop++;
    if (drop === 0) return;
    this.json.splice(0, drop);
    this.createdAt.splice(0, drop);
    this.first += drop;
  }

  /** Index of `seq` among the held messages (after a trim), or -1. */
  private indexOf(seq: number): number {
    this.trim();
    return seq < this.first || seq > this.seq ? -1 : seq - this.first;
  }

  /** The JSON of the held message `seq` in its current state, if held. */
  jsonOf(seq: number): string | undefined {
    const i = this.indexOf(seq);
    return i < 0 ? undefined : this.json[i];
  }

  /** The held message `seq` in its current state (a fresh object), if held. */
  get(seq: number): Message | undefined {
    const json = this.jsonOf(seq);
    return json === undefined ? undefined : parse(json);
  }

  /** Replaces the stored state of the held message `seq` (an operation's target). */
  replace(seq: number, json: string): void {
    const i = this.indexOf(seq);
    if (i >= 0) this.json[i] = json;
  }

  /**
   * The JSON of every message after `after` up to the head, in its current state, if all are
   * held, at most `limit`, and (when given) not more than `maxBytes`: `undefined` otherwise.
   * `after >= seq` gives `[]`.
   */
  range(after: number, limit: number, maxBytes?: number): string[] | undefined {
    if (after >= this.seq) return [];
    this.trim();
    if (this.first > after + 1 || this.seq - after > limit) return undefined;
    const from = after + 1 - this.first;
    if (maxBytes !== undefined) {
      // UTF-16 length is a lower bound of the UTF-8 length: over it, the JSON is surely over.
      let chars = 0;
      for (let i = from; i < this.json.length; i++) chars += this.json[i]!.length;
      if (chars > maxBytes) return undefined;
    }
    return this.json.slice(from);
  }

  /**
   * The JSON of the newest `limit` messages with `seq < before` (all held ones when omitted),
   * ascending, in their current state.
   */
  page(before: number | undefined, limit: number): { json: string[]; hasMore: boolean } {
    this.trim();
    const n = this.json.length;
    const end = before === undefined ? n : Math.max(0, Math.min(n, before - this.first));
    const start = Math.max(0, end - limit);
    return { json: this.json.slice(start, end), hasMore: start > 0 };
  }

  /** The last countable message with `seq <= at`, in its current state, if still held. */
  lastCountable(at: number): Message | undefined {
    const i = upperBound(this.countable, at) - 1;
    return i < 0 ? undefined : this.get(this.countable[i]!);
  }
}
