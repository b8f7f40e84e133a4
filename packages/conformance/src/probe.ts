/**
 * A raw WebSocket probe: records every frame a server sends (parsed as JSON, but not validated,
 * so that a broken server's frames can still be inspected) and waits for the next frame that
 * matches a predicate, with a timeout. What it quotes of a server's frames is redacted.
 */
import WebSocket from 'ws';
import { Redactor } from './redact.js';

/** A check did not hold; `message` says what was expected and what was seen. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
}

/** A frame as received: parsed JSON object (or `undefined` when it was not JSON). */
export type Frame = Record<string, unknown> & { type?: unknown };

export interface ProbeOptions {
  /** Subprotocols offered (none: an empty list). */
  protocols: string[];
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Redacts what failure messages quote. @default a redactor that knows no secrets */
  redactor?: Redactor;
}

export class Probe {
  /** Frames not yet consumed by {@link next}. */
  readonly frames: Frame[] = [];
  /** Every frame received, in arrival order (never consumed). */
  readonly log: Frame[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closeInfo: { code: number; reason: string } | undefined;
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly opened: Promise<void>;

  constructor(
    readonly url: string,
    private readonly o: ProbeOptions,
  ) {
    const ws = new WebSocket(url, o.protocols, { headers: o.headers ?? {} });
    this.ws = ws;
    ws.on('message', (data) => {
      let frame: Frame;
      try {
        const v: unknown = JSON.parse(String(data));
        frame =
          typeof v === 'object' && v !== null && !Array.isArray(v)
            ? (v as Frame)
            : { type: undefined, value: v };
      } catch {
        frame = { type: undefined, notJson: String(data).slice(0, 200) };
      }
      this.frames.push(frame);
      this.log.push(frame);
      this.wake();
    });
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err) =>
        reject(new CheckFailure(`cannot connect to ${url}: ${err.message}`)),
      );
      ws.once('unexpected-response', (_req, res) =>
        reject(new CheckFailure(`upgrade refused with HTTP ${res.statusCode}`)),
      );
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('error', () => {});
  }

  private readonly ws: WebSocket;

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async open(): Promise<void> {
    await withTimeout(this.opened, this.o.timeoutMs, `opening ${this.url}`);
  }

  send(frame: unknown): void {
    this.sendRaw(JSON.stringify(frame));
  }

  /** Sends one text message as is. */
  sendRaw(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN)
      throw new CheckFailure(`the socket is not open (close ${this.closeInfo?.code ?? '?'})`);
    this.ws.send(text);
  }

  /**
   * The next not-yet-consumed frame matching `pred` (frames before it stay available to later
   * waits). Fails after the timeout, or when the socket closes first.
   */
  async next(
    pred: (f: Frame) => boolean,
    what: string,
    timeoutMs = this.o.timeoutMs,
  ): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.frames.length; i++) {
        const f = this.frames[i]!;
        if (pred(f)) {
          this.frames.splice(i, 1);
          return f;
        }
      }
      if (this.closeInfo !== undefined)
        throw new CheckFailure(
          `socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what}${this.seen()}`,
        );
      const left = deadline - Date.now();
      if (left <= 0) throw new CheckFailure(`no ${what} within ${timeoutMs} ms${this.seen()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the close; fails if it does not come in time. */
  async closeCode(
    what: string,
    timeoutMs = this.o.timeoutMs,
  ): Promise<{ code: number; reason: string }> {
    return withTimeout(this.closed, timeoutMs, `${what}${this.seen()}`);
  }

  private seen(): string {
    const last = this.frames.slice(-3);
    const r = this.o.redactor ?? new Redactor();
    return last.length === 0
      ? ' (no unconsumed frames)'
      : `; last frames: ${last.map((f) => r.short(f)).join(', ')}`;
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckFailure(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
