/**
 * One conversation's idempotency records in the memory engine, held compactly (issue 15): a Map
 * from the key to a record number, and per record its key, the JSON of the message stored the
 * first time (the same string the history holds until an operation or a trim replaces it), when
 * it was written and its size — in parallel arrays, oldest first. Bounded by count, by bytes and by
 * age; the oldest records go first, but the newest is always kept (so the retry of a message
 * larger than the byte bound is still recognised until the next write).
 */
import { byteLength } from '@parley/protocol';

/** Compact the arrays once this many evicted slots lead them. */
const COMPACT_AFTER = 1024;

export interface DedupeBounds {
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
}

export class DedupeLog {
  /** key -> record number (`base + index` in the arrays below). */
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  private json: (string | undefined)[] = [];
  private at: number[] = [];
  private sizes: number[] = [];
  /** Record number of `keys[0]`. */
  private base = 0;
  /** Index of the oldest live record in the arrays (the ones before it were evicted). */
  private head = 0;
  /** UTF-8 bytes of the live records' keys and JSON. */
  private bytes = 0;

  constructor(
    private readonly bounds: DedupeBounds,
    private readonly now: () => number,
  ) {}

  /** Live records. */
  get size(): number {
    return this.keys.length - this.head;
  }

  /** The stored message's JSON for `key`, if its record exists and has not expired. */
  get(key: string): string | undefined {
    const no = this.index.get(key);
    if (no === undefined) return undefined;
    const i = no - this.base;
    if (this.at[i]! + this.bounds.ttlMs <= this.now()) {
      this.index.delete(key);
      return undefined;
    }
    return this.json[i];
  }

  /** Records `key` -> `json` (the newest record), then evicts past the bounds, oldest first. */
  add(key: string, json: string): void {
    const no = this.base + this.keys.length;
    const size = byteLength(key) + byteLength(json);
    this.index.set(key, no);
    this.keys.push(key);
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
    const key = this.keys[i]!;
    // The key may have a newer record (written again after this one expired).
    if (this.index.get(key) === this.base + i) this.index.delete(key);
    this.bytes -= this.sizes[i]!;
    this.keys[i] = undefined;
    this.json[i] = undefined;
  }

  private compact(): void {
    const h = this.head;
    this.keys = this.keys.slice(h);
    this.json = this.json.slice(h);
    this.at = this.at.slice(h);
    this.sizes = this.sizes.slice(h);
    this.base += h;
    this.head = 0;
  }
}
