/**
 * Correlated requests (tRPC's request manager, for non-send frames): `history`, gap-fill `sync`
 * and custom `event` frames carry a `ref`; the frame that answers (`history`, `replay`/`reset`,
 * `ok`) or an `error` with that ref settles them. Each has a deadline (`requestTimeoutMs`); a
 * dropped link or a close rejects what is pending. Nothing waits forever, and the map holds only
 * requests whose deadline has not passed.
 */
import type {
  ClientEventFrame,
  ClientFrame,
  HistoryPageFrame,
  HistoryRequestFrame,
  OkFrame,
  ReplayFrame,
  ResetFrame,
  ServerFrame,
  SyncFrame,
} from '@parley/protocol/core';
import { DisconnectedError, type ParleyError, TimeoutError } from './errors.js';

/** The frame that answers each kind of request. */
interface Answers {
  history: HistoryPageFrame;
  sync: ReplayFrame | ResetFrame;
  event: OkFrame;
}

interface Pending {
  resolve(frame: ServerFrame): void;
  reject(err: ParleyError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Requests {
  private readonly pending = new Map<string, Pending>();
  private count = 0;

  constructor(
    private readonly send: (frame: ClientFrame) => boolean,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Sends `frame` with a fresh `ref`. Resolves with the frame that answers it; rejects with the
   * hub's refusal (`ServerError`), `TimeoutError`, or `DisconnectedError` (not connected, or the
   * link dropped first).
   */
  request<F extends HistoryRequestFrame | SyncFrame | ClientEventFrame>(
    frame: F,
  ): Promise<Answers[F['type']]> {
    return new Promise((resolve, reject) => {
      const ref = `r${++this.count}`;
      if (!this.send({ ...frame, ref })) {
        reject(new DisconnectedError('not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new TimeoutError(`no answer to ${frame.type} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      // The client routes each answer by its type (history → history, event → ok, ...).
      this.pending.set(ref, { resolve: resolve as (f: ServerFrame) => void, reject, timer });
    });
  }

  /** A frame carrying `ref` arrived: it answers the request with that ref, if any. */
  answer(ref: string | undefined, frame: ServerFrame): void {
    const req = this.take(ref);
    req?.resolve(frame);
  }

  /** An `error` frame: rejects the request with its `ref`. False when it answered none. */
  fail(ref: string | undefined, err: ParleyError): boolean {
    const req = this.take(ref);
    req?.reject(err);
    return req !== undefined;
  }

  /** The link dropped or the client closed. */
  rejectAll(err: ParleyError): void {
    for (const ref of [...this.pending.keys()]) this.take(ref)?.reject(err);
  }

  private take(ref: string | undefined): Pending | undefined {
    const req = ref === undefined ? undefined : this.pending.get(ref);
    if (req === undefined) return undefined;
    this.pending.delete(ref!);
    clearTimeout(req.timer);
    return req;
  }
}
