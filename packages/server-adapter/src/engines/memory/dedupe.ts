/**
 * One conversation's idempotency records in the memory engine, held compactly (issue 15): a Map
 * per sender from the client message id to a record number (no key string is built per record),
 * and per record its sender and client message id, the JSON of the message stored the
 * first time (the same string the history holds until an operation or a trim replaces it), when
 * it was written and its size — in parallel arrays, oldest first. Bounded by count, by bytes and by
 * age; the oldest records go first, but the newest is always kept (so the retry of a message
 * larger than the byte bound is still recognised until the next write).
 */
import { utf8Bytes } from '../../text.js';

/** Compact the arrays once this many evicted slots lead them. */
const COMPACT_AFTER = 1024;

export interface DedupeBounds {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
}

export class DedupeLog {
  /** senderId -> clientMsgId -> record number (`base + index` in the arrays below). */
  private readonly index = new Map<string, Map<string, number>>();
  private senders: (string | undefined)[] = [];
  private keys: (string | undefined)[] = [];
  private json: (string | undefined)[] = [];
  private at: number[] = [];
  private sizes: number[] = [];
  /** Record number of `keys[0]`. */
  private base = 0;
  /** Index of the oldest live record in the arrays (the ones before it were evicted). */
  private head = 0;
  /** UTF-8 bytes of the live records' keys (sender id, a separator, client id) and JSON. */
  private bytes = 0;

  constructor(
    private readonly bounds: DedupeBounds,
    private readonly now: () => number,
  ) {}

  /** Live records. */
  get size(): number {
    return this.keys.length - this.head;
  }

  /** The stored message's JSON for the key, if its record exists and has not expired. */
  get(senderId: string, clientMsgId: string): string | undefined {
    const bySender = this.index.get(senderId);
    const no = bySender?.get(clientMsgId);
    if (bySender === undefined || no === undefined) return undefined;
    const i = no - this.base;
    if (this.at[i]! + this.bounds.ttlMs <= this.now()) {
      this.forget(senderId, clientMsgId, no);
      return undefined;
    }
    return this.json[i];
  }

  /** Records the key -> `json` (the newest record), then evicts past the bounds, oldest first. */
  add(senderId: string, clientMsgId: string, json: string): void {
    const no = this.base + this.keys.length;
    const size = utf8Bytes(senderId) + 1 + utf8Bytes(clientMsgId) + utf8Bytes(json);
    let bySender = this.index.get(senderId);
    if (bySender === undefined) {
      bySender = new Map();
      this.index.set(senderId, bySender);
    }
    bySender.set(clientMsgId, no);
    this.senders.push(senderId);
    this.keys.push(clientMsgId);
    this.json.push(json);
    this.at.push(this.now());
    this.sizes.push(size);
    this.bytes += size;
    this.prune();
  }

  private prune(): void {
    const { maxEntries, maxBytes, ttlMs } = this.bounds;
    const cutoff = this.now() - ttlMs;
    while (this.size > 0) {
      const over = this.size > maxEntries || (this.bytes > maxBytes && this.size > 1);
      if (!over && this.at[this.head]! > cutoff) break;
      this.evictOldest();
    }
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.keys.length) this.compact();
  }

  private evictOldest(): void {
    const i = this.head++;
    this.forget(this.senders[i]!, this.keys[i]!, this.base + i);
    this.bytes -= this.sizes[i]!;
    this.senders[i] = undefined;
    this.keys[i] = undefined;
    this.json[i] = undefined;
  }

  /** Drops the key from the index if it still points at record `no` (it may have a newer one). */
  private forget(senderId: string, clientMsgId: string, no: number): void {
    const bySender = this.index.get(senderId);
    if (bySender?.get(clientMsgId) !== no) return;
    bySender.delete(clientMsgId);
    if (bySender.size === 0) this.index.delete(senderId);
  }

  private compact(): void {
    const h = this.head;
    this.senders = this.senders.slice(h);
    this.keys = this.keys.slice(h);
    this.json = this.json.slice(h);
    this.at = this.at.slice(h);
    this.sizes = this.sizes.slice(h);
    this.base += h;
    this.head = 0;
  }
}
