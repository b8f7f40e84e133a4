/**
 * Correlated requests (tRPC's request manager, for non-send frames): `history` pages and gap-fill
 * `sync`s carry a `ref`; the answer (`history`, `replay`, `reset`) or an `error` with that ref
 * settles them. A dropped link or a close rejects what is pending; nothing waits forever.
 */
import type {
  ClientFrame,
  HistoryPageFrame,
  HistoryRequestFrame,
  SyncFrame,
} from '@parley/protocol/core';
import { DisconnectedError, type ParleyError, TimeoutError } from './errors.js';

interface Pending {
  resolve(frame: HistoryPageFrame): void;
  reject(err: ParleyError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Requests<Owner> {
  private readonly pending = new Map<string, Pending>();
  private readonly syncs = new Map<string, Owner>();
  private count = 0;

  constructor(
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly timeoutMs: number,
  ) {}

  /** Sends a `history` request; resolves with the page. */
  history(frame: HistoryRequestFrame): Promise<HistoryPageFrame> {
    return new Promise((resolve, reject) => {
      const ref = `r${++this.count}`;
      if (!this.send({ ...frame, ref })) {
        reject(new DisconnectedError('not connected; try again when the state is open'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TimeoutError(`no answer to ${frame.type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  /** Sends a gap-fill `sync` for `owner`. False when the link is not ready. */
  sync(owner: Owner, frame: SyncFrame): boolean {
    const ref = `s${++this.count}`;
    if (!this.send({ ...frame, ref })) return false;
    this.syncs.set(ref, owner);
    return true;
  }

  /** A `history` page arrived. */
  page(frame: HistoryPageFrame): void {
    const req = frame.ref === undefined ? undefined : this.pending.get(frame.ref);
    if (req === undefined || frame.ref === undefined) return;
    this.pending.delete(frame.ref);
    clearTimeout(req.timer);
    req.resolve(frame);
  }

  /** A `replay`/`reset` answered a sync (or came unasked: no-op). */
  answered(ref: string | undefined): void {
    if (ref !== undefined) this.syncs.delete(ref);
  }

  /**
   * An `error` frame with `ref`: rejects the history request, or returns the owner of the refused
   * sync. Returns `false` when the ref is not ours.
   */
  fail(ref: string | undefined, err: ParleyError): { sync: Owner } | boolean {
    if (ref === undefined) return false;
    const owner = this.syncs.get(ref);
    if (owner !== undefined) {
      this.syncs.delete(ref);
      return { sync: owner };
    }
    const req = this.pending.get(ref);
    if (req === undefined) return false;
    this.pending.delete(ref);
    clearTimeout(req.timer);
    req.reject(err);
    return true;
  }

  /** The link dropped or the client closed. */
  rejectAll(err: ParleyError): void {
    this.syncs.clear();
    for (const [ref, r] of this.pending) {
      clearTimeout(r.timer);
      this.pending.delete(ref);
      r.reject(err);
    }
  }
}
