/**
 * A Map whose entries expire, bounded in count: the memory engine's control records (removals,
 * kicks, send leases). Entries are kept in insertion order (a `set` moves a key to the end), so
 * pruning from the front drops the oldest first; it runs on every write, so the map never holds
 * more than `maxEntries` entries, nor (for long) entries past their expiry.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Milliseconds until `key` expires, or undefined when it is absent or expired. */
  ttl(key: string): number | undefined {
    const e = this.entries.get(key);
    if (e === undefined || this.get(key) === undefined) return undefined;
    return e.expiresAt - this.now();
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    this.prune();
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  private prune(): void {
    const t = this.now();
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expiresAt > t) break;
      this.entries.delete(key);
    }
  }
}
