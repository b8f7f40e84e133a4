/**
 * A real `ws` test client that validates every server frame with the protocol codec and lets a
 * test wait for the next frame matching a predicate (never for a fixed time).
 */
import {
  type ClientFrame,
  type Cursor,
  decodeServerFrame,
  type ServerFrame,
  SUBPROTOCOL,
} from '@parley/protocol';
import WebSocket from 'ws';

export type Pred<T extends ServerFrame = ServerFrame> = (f: ServerFrame) => f is T;
type FrameOf<K extends ServerFrame['type']> = Extract<ServerFrame, { type: K }>;

/** Predicate for a frame type, optionally refined. */
export function is<K extends ServerFrame['type']>(
  type: K,
  where: (f: FrameOf<K>) => boolean = () => true,
): Pred<FrameOf<K>> {
  return (f): f is FrameOf<K> => f.type === type && where(f as FrameOf<K>);
}

export interface ConnectOptions {
  token?: string;
  cursors?: Record<string, Cursor>;
  protocols?: string[];
  headers?: Record<string, string>;
  origin?: string;
  /** Send `hello` and wait for `welcome`. @default true */
  hello?: boolean;
  autoPong?: boolean;
}

export class TestClient {
  readonly frames: ServerFrame[] = [];
  readonly raw: string[] = [];
  private readonly consumed = new Set<number>();
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  closeInfo: { code: number; reason: string } | undefined;
  welcome!: FrameOf<'welcome'>;
  decodeErrors: unknown[] = [];

  /** Heartbeat pings received: WebSocket pings, and app-level `ping` frames (hubs on Deno). */
  pings = 0;

  private constructor(
    readonly ws: WebSocket,
    autoPong: boolean,
  ) {
    ws.on('message', (data, isBinary) => {
      const text = (data as Buffer).toString('utf8');
      this.raw.push(text);
      try {
        // Every Parley frame is a text frame (browsers hand binary frames over as Blobs).
        if (isBinary) throw new Error(`binary frame received: ${text.slice(0, 80)}`);
        const frame = decodeServerFrame(text);
        this.frames.push(frame);
        if (frame.type === 'ping') {
          this.pings++;
          // Answered like every Parley client does (and like `ws` answers WebSocket pings).
          if (autoPong)
            this.send({ type: 'pong', ...(frame.ref === undefined ? {} : { ref: frame.ref }) });
        }
      } catch (err) {
        this.decodeErrors.push(err);
      }
      this.wake();
    });
    ws.on('ping', () => {
      this.pings++;
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.wake();
      });
    });
    ws.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Opens a socket; by default sends `hello` and waits for `welcome`. */
  static async connect(url: string, o: ConnectOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, o.protocols ?? [SUBPROTOCOL], {
      headers: o.headers ?? {},
      ...(o.origin === undefined ? {} : { origin: o.origin }),
      autoPong: o.autoPong ?? true,
    });
    const client = new TestClient(ws, o.autoPong ?? true);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    if (o.hello !== false) {
      client.send({
        type: 'hello',
        protocol: 1,
        ...(o.token === undefined ? {} : { token: o.token }),
        ...(o.cursors === undefined ? {} : { cursors: o.cursors }),
      });
      client.welcome = await client.next(is('welcome'));
    }
    return client;
  }

  send(frame: ClientFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends anything (deliberately invalid frames). */
  sendAny(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  /** The first not-yet-consumed frame matching `pred`, waiting up to `timeoutMs` for it. */
  next<T extends ServerFrame>(pred: Pred<T>, timeoutMs = 3000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): boolean => {
        for (let i = 0; i < this.frames.length; i++) {
          if (this.consumed.has(i)) continue;
          const f = this.frames[i]!;
          if (pred(f)) {
            this.consumed.add(i);
            resolve(f);
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `timed out waiting for a frame; got: ${this.raw.slice(-5).join(' | ').slice(0, 600)}`,
          ),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (check()) clearTimeout(timer);
        else if (this.closeInfo !== undefined) {
          clearTimeout(timer);
          reject(
            new Error(
              `socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting`,
            ),
          );
        } else this.waiters.push(waiter);
      };
      this.waiters.push(waiter);
    });
  }

  /** Resolves once `n` heartbeat pings (of either kind) arrived, waiting up to `timeoutMs`. */
  pinged(n: number, timeoutMs = 3000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${n} pings; got ${this.pings}`));
      }, timeoutMs);
      const waiter = (): void => {
        if (this.pings >= n) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(waiter);
      };
      waiter();
    });
  }

  /** Every not-yet-consumed frame matching `pred`, consumed now (no waiting). */
  take<T extends ServerFrame>(pred: Pred<T>): T[] {
    const out: T[] = [];
    this.frames.forEach((f, i) => {
      if (!this.consumed.has(i) && pred(f)) {
        this.consumed.add(i);
        out.push(f);
      }
    });
    return out;
  }

  /** Round-trips a ping: every frame the server queued before it has arrived afterwards. */
  async barrier(): Promise<void> {
    const ref = `b${Math.random().toString(36).slice(2)}`;
    this.send({ type: 'ping', ref });
    await this.next(is('pong', (f) => f.ref === ref));
  }

  async close(): Promise<void> {
    if (this.closeInfo === undefined) {
      this.ws.close(1000);
      await this.closed;
    }
  }

  terminate(): void {
    this.ws.terminate();
  }
}
