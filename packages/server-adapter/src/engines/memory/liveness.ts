/**
 * The memory engine's presence entries: each user's live connections and when each entry expires
 * unless a heartbeat refreshes it. A user's one connection is one small object, not a Map of one
 * (~185 B per idle connection, issue 15).
 */
import { Groups } from '../../groups.js';

interface Entry {
  readonly id: string;
  expiresAt: number;
}

export class Liveness {
  private readonly byUser = new Groups<string, Entry>();

  /** Records (or renews) a connection's entry. Returns the user's number of entries. */
  connect(userId: string, connectionId: string, expiresAt: number): number {
    const entry = this.find(userId, connectionId);
    if (entry !== undefined) entry.expiresAt = expiresAt;
    else this.byUser.add(userId, { id: connectionId, expiresAt });
    return this.byUser.count(userId);
  }

  /** Renews an entry that still exists (an expired or removed one stays gone). */
  refresh(userId: string, connectionId: string, expiresAt: number): void {
    const entry = this.find(userId, connectionId);
    if (entry !== undefined) entry.expiresAt = expiresAt;
  }

  disconnect(userId: string, connectionId: string): void {
    const entry = this.find(userId, connectionId);
    if (entry !== undefined) this.byUser.delete(userId, entry);
  }

  /**
   * The user's entries live at `now`, after dropping the expired ones (`expired` is called with
   * each one's expiry).
   */
  live(userId: string, now: number, expired: (expiresAt: number) => void): number {
    this.byUser.forEach(userId, (e) => {
      if (e.expiresAt > now) return;
      this.byUser.delete(userId, e);
      expired(e.expiresAt);
    });
    return this.byUser.count(userId);
  }

  private find(userId: string, connectionId: string): Entry | undefined {
    let found: Entry | undefined;
    this.byUser.forEach(userId, (e) => {
      if (e.id === connectionId) found = e;
    });
    return found;
  }
}
