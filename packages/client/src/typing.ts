/**
 * Typing indicators. Local: at most one `start` per throttle window while the user types, a
 * `stop` after idling or on send. Remote: each user's state expires after the frame's ttl unless
 * refreshed, so an indicator can never stick on "typing…".
 */

/** The local user's typing state in one conversation. */
export class LocalTyping {
  private since: number | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly o: { throttleMs: number; idleMs: number },
    private readonly now: () => number,
    /** Sends a typing frame; false when it could not be sent (not connected). */
    private readonly send: (state: 'start' | 'stop') => boolean,
  ) {}

  /** A keystroke. */
  keystroke(): void {
    const now = this.now();
    if (this.since === undefined || now - this.since >= this.o.throttleMs) {
      if (this.send('start')) this.since = now;
    }
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), this.o.idleMs);
  }

  /** Ends the typing state (sends `stop` if a `start` went out). */
  stop(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    if (this.since === undefined) return;
    this.since = undefined;
    this.send('stop');
  }

  /** The link dropped: the server forgot the state; the next keystroke starts afresh. */
  reset(): void {
    clearTimeout(this.idle);
    this.idle = undefined;
    this.since = undefined;
  }
}

/** Other members' typing states in one conversation. */
export class RemoteTyping {
  private readonly users = new Map<string, ReturnType<typeof setTimeout>>();
  private cached: readonly string[] | undefined;

  constructor(private readonly changed: (userId: string, typing: boolean) => void) {}

  /** Users typing now. The same array until the set of typing users changes (UI snapshots). */
  list(): readonly string[] {
    this.cached ??= [...this.users.keys()];
    return this.cached;
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /** `ttlMs > 0`: typing for that long unless refreshed; `0`: stopped. */
  set(userId: string, ttlMs: number): void {
    const had = this.users.has(userId);
    clearTimeout(this.users.get(userId));
    if (ttlMs > 0)
      this.users.set(
        userId,
        setTimeout(() => this.set(userId, 0), ttlMs),
      );
    else this.users.delete(userId);
    if (had !== ttlMs > 0) {
      this.cached = undefined;
      this.changed(userId, ttlMs > 0);
    }
  }

  clear(): void {
    for (const t of this.users.values()) clearTimeout(t);
    this.users.clear();
    this.cached = undefined;
  }
}
