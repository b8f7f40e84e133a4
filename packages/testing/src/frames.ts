/** Every frame the mocked sockets carried, in order, with waiters for frames still to come. */
import type { ClientFrame, ServerFrame } from '@parley/protocol';
import { type WaitOptions, waitFor } from './wait.js';

/** One frame seen by the kit. */
export type RecordedFrame =
  | {
      /** Client → hub. */
      direction: 'in';
      /** Kit-local connection number (1, 2, …). */
      connection: number;
      /** The user, once known (from the `hello` token or the `welcome`). */
      userId: string | undefined;
      frame: ClientFrame;
    }
  | {
      /** Hub → client. */
      direction: 'out';
      connection: number;
      userId: string | undefined;
      frame: ServerFrame;
    };

/** A predicate, or a partial description of the frame: `{ direction, userId, type }`. */
export type FrameMatcher =
  | ((f: RecordedFrame) => boolean)
  | {
      direction?: 'in' | 'out';
      userId?: string;
      /** The frame's `type` (e.g. `'send'`, `'message'`, `'typing'`). */
      type?: string;
      conversationId?: string;
    };

export function matches(m: FrameMatcher, f: RecordedFrame): boolean {
  if (typeof m === 'function') return m(f);
  if (m.direction !== undefined && f.direction !== m.direction) return false;
  if (m.userId !== undefined && f.userId !== m.userId) return false;
  if (m.type !== undefined && f.frame.type !== m.type) return false;
  if (m.conversationId !== undefined) {
    const frame = f.frame as { conversationId?: string; message?: { conversationId?: string } };
    const id = frame.conversationId ?? frame.message?.conversationId;
    if (id !== m.conversationId) return false;
  }
  return true;
}

export class FrameLog {
  readonly frames: RecordedFrame[] = [];

  record(f: RecordedFrame): void {
    this.frames.push(f);
  }

  clear(): void {
    this.frames.length = 0;
  }

  filter(m: FrameMatcher = () => true): RecordedFrame[] {
    return this.frames.filter((f) => matches(m, f));
  }

  /**
   * Resolves with the first recorded frame matching `m` at index ≥ `from` (default: 0, so a frame
   * that already went by counts; pass `kit.frames.length` to wait for a new one).
   */
  wait(m: FrameMatcher, options: WaitOptions & { from?: number } = {}): Promise<RecordedFrame> {
    const from = options.from ?? 0;
    return waitFor(() => this.frames.slice(from).find((f) => matches(m, f)), {
      message: `waitForFrame: no matching frame within ${options.timeoutMs ?? 5_000} ms`,
      ...options,
    });
  }
}
