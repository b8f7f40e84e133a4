/**
 * Values grouped by key, with a key's only value held directly instead of in a Set of one. Most
 * groups have one member: a user's one socket, a DM's one local member, an engine topic's one
 * subscriber (the hub subscribes each topic once). A Set of one costs ~160 B of heap for as long
 * as the connection lives, several per idle connection (issue 15, idle memory); a direct
 * reference costs nothing. A group becomes a Set when it gains a second value and stays one until
 * it is empty (so that a loop over it never sees a value removed during the loop).
 *
 * Values must not themselves be Sets (that is how the two shapes are told apart).
 */
export class Groups<K, V extends object> {
  private readonly map = new Map<K, V | Set<V>>();

  /** Number of non-empty groups. */
  get size(): number {
    return this.map.size;
  }

  /** Adds `value` to the group of `key`. Returns true when the group was empty before. */
  add(key: K, value: V): boolean {
    const g = this.map.get(key);
    if (g === undefined) {
      this.map.set(key, value);
      return true;
    }
    if (g instanceof Set) g.add(value);
    else if (g !== value) this.map.set(key, new Set([g, value]));
    return false;
  }

  /** Removes `value` from the group of `key`. Returns true when that left the group empty. */
  delete(key: K, value: V): boolean {
    const g = this.map.get(key);
    if (g === undefined) return false;
    if (g instanceof Set) {
      if (!g.delete(value) || g.size > 0) return false;
      this.map.delete(key);
      return true;
    }
    if (g !== value) return false;
    this.map.delete(key);
    return true;
  }

  has(key: K, value: V): boolean {
    const g = this.map.get(key);
    return g instanceof Set ? g.has(value) : g === value && g !== undefined;
  }

  /** Number of values in the group of `key`. */
  count(key: K): number {
    const g = this.map.get(key);
    return g === undefined ? 0 : g instanceof Set ? g.size : 1;
  }

  /**
   * Calls `fn` for each value of the group, live: a value removed during the loop and not yet
   * reached is skipped (a Set's own iteration), and `fn` must not add to the group.
   */
  forEach(key: K, fn: (value: V) => void): void {
    const g = this.map.get(key);
    if (g === undefined) return;
    if (g instanceof Set) for (const v of g) fn(v);
    else fn(g);
  }

  /** A copy of the group's values: safe to loop over while the group changes. */
  values(key: K): V[] {
    const g = this.map.get(key);
    return g === undefined ? [] : g instanceof Set ? [...g] : [g];
  }

  clear(): void {
    this.map.clear();
  }
}
