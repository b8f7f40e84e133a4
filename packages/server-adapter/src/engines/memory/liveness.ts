/**
 * The memory engine's presence entries: each user's live connections and when each entry expires
 * unless a heartbeat refreshes it. A user's one connection is one small object, not a Map of one
 * (~185 B per idle connection, issue 15); a user with several gets a Map by connection id, so
 * every operation stays O(1) however many sockets one user opens.
 */

interface Entry {
  readonly id: string;
  expiresAt: number;
}

export class Liveness {
  private readonly byUser = new Map<string, Entry | Map<string, Entry>>();

  /** Records (or renews) a connection's entry. Returns the user's number of entries. */
  connect(userId: string, connectionId: string, expiresAt: number): number {
    const slot = this.byUser.get(userId);
    const entry = this.find(slot, connectionId);
    if (entry !== undefined) {
      entry.expiresAt = expiresAt;
      return slot instanceof Map ? slot.size : 1;
    }
    const fresh = { id: connectionId, expiresAt };
    if (slot === undefined) {
      this.byUser.set(userId, fresh);
      return 1;
    }
    if (slot instanceof Map) return slot.set(connectionId, fresh).size;
    this.byUser.set(
      userId,
      new Map([
        [slot.id, slot],
        [connectionId, fresh],
      ]),
    );
    return 2;
  }

  /** Renews an entry that still exists (an expired or removed one stays gone). */
  refresh(userId: string, connectionId: string, expiresAt: number): void {
    const entry = this.find(this.byUser.get(userId), connectionId);
    if (entry !== undefined) entry.expiresAt = expiresAt;
  }

  disconnect(userId: string, connectionId: string): void {
    const slot = this.byUser.get(userId);
    if (slot instanceof Map) {
      if (slot.delete(connectionId) && slot.size === 0) this.byUser.delete(userId);
    } else if (slot?.id === connectionId) this.byUser.delete(userId);
  }

  /**
   * The user's entries live at `now`, after dropping the expired ones (`expired` is called with
   * each one's expiry).
   */
  live(userId: string, now: number, expired: (expiresAt: number) => void): number {
    const slot = this.byUser.get(userId);
    if (slot === undefined) return 0;
    if (!(slot instanceof Map)) {
      if (slot.expiresAt > now) return 1;
      this.byUser.delete(userId);
      expired(slot.expiresAt);
      return 0;
    }
    for (const [id, e] of slot) {
      if (e.expiresAt > now) continue;
      slot.delete(id);
      expired(e.expiresAt);
    }
    if (slot.size === 0) this.byUser.delete(userId);
    return slot.size;
  }

  private find(
    slot: Entry | Map<string, Entry> | undefined,
    connectionId: string,
  ): Entry | undefined {
    if (slot instanceof Map) return slot.get(connectionId);
    return slot?.id === connectionId ? slot : undefined;
  }
}
