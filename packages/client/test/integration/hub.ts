/**
 * A real hub (`@parley/server-adapter`) on node:http, port 0, for integration tests. Tracks the
 * server-side TCP sockets and the client-side WebSockets so a test can kill either end, lose a
 * frame on its way to a client (the link is cut right after: a lost ack), and restart the hub on
 * the same port — over the same engine (history kept) or a fresh one (a new epoch: resets).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createHub,
  createMemoryEngine,
  type Engine,
  type Hub,
  type HubOptions,
} from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/index.js';

export interface TestHub {
  url: string;
  /** The hub now serving (replaced by `restart`). */
  readonly hub: Hub;
  /** The engine now in use. */
  readonly engine: Engine;
  /** A WebSocket class whose instances are tracked (for `killClientSockets`, `loseNext`). */
  WebSocket: WebSocketConstructor;
  /** Destroys every server-side TCP socket (no close frame: the client sees 1006). */
  killServerSockets(): number;
  /** Stops reading from every server-side TCP socket: a half-open link (no pong, no frames). */
  freezeServerSockets(): number;
  /** Closes the hub gracefully (1012 with a `shutdown` hint) and keeps the HTTP server. */
  closeHub(): Promise<void>;
  /**
   * Closes the hub (gracefully, or by destroying every TCP socket first when `crash`) and starts a
   * new one on the same port: over the same engine, or a fresh memory engine (`freshEngine`: the
   * history and its epoch are gone, so clients get resets).
   */
  restart(o?: { crash?: boolean; freshEngine?: boolean }): Promise<void>;
  /** Terminates the client-side sockets opened through `WebSocket` (all of them, or the latest `n`). */
  killClientSockets(): number;
  /**
   * The next frame of `type` arriving at any tracked client socket is dropped and that socket is
   * terminated at once (the hub did its work; the client never hears of it). Resolves when it
   * happened.
   */
  loseNext(type: string): Promise<void>;
  /** Forgets the losses `loseNext` armed that have not happened yet. */
  cancelLosses(): void;
  dispose(): Promise<void>;
}

export async function startHub(
  options: Partial<HubOptions> = {},
  engineFactory: () => Engine = () => createMemoryEngine(),
): Promise<TestHub> {
  const httpServer: Server = createServer();
  const tcp = new Set<Socket>();
  httpServer.on('connection', (s) => {
    tcp.add(s);
    s.on('close', () => tcp.delete(s));
  });
  // Engines this helper made are closed by `dispose` (a hub never closes an engine it was given).
  const made: Engine[] = [];
  const fresh = () => {
    const e = engineFactory();
    made.push(e);
    return e;
  };
  let engine = options.engine ?? fresh();
  const make = () =>
    createHub({
      authenticate: async ({ token }) =>
        token ? { userId: token, profile: { name: token.toUpperCase() } } : null,
      conversationsOf: async () => ['room'],
      ...options,
      engine,
    });
  let hub = make();
  let detach = attachHub(hub, httpServer, { path: '/parley' });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  const sockets = new Set<WebSocket>();
  const losses: Array<{ type: string; done: () => void }> = [];
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.add(this);
      this.on('close', () => sockets.delete(this));
    }
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'message' && losses.length > 0) {
        const type = (JSON.parse(String(args[0])) as { type?: unknown }).type;
        const i = losses.findIndex((l) => l.type === type);
        if (i >= 0) {
          const [loss] = losses.splice(i, 1);
          this.terminate();
          loss!.done();
          return false;
        }
      }
      return super.emit(event, ...args);
    }
  }
  const destroyAll = () => {
    const n = tcp.size;
    for (const s of tcp) s.destroy();
    return n;
  };
  return {
    url: `ws://127.0.0.1:${port}/parley`,
    get hub() {
      return hub;
    },
    get engine() {
      return engine;
    },
    WebSocket: TrackedWebSocket,
    killServerSockets: destroyAll,
    freezeServerSockets() {
      for (const s of tcp) s.pause();
      return tcp.size;
    },
    closeHub: () => hub.close(),
    async restart(o = {}) {
      if (o.crash) destroyAll();
      await hub.close();
      await detach.close();
      if (o.freshEngine) engine = fresh();
      hub = make();
      detach = attachHub(hub, httpServer, { path: '/parley' });
    },
    killClientSockets() {
      const n = sockets.size;
      for (const s of sockets) s.terminate();
      return n;
    },
    loseNext: (type) => new Promise<void>((done) => losses.push({ type, done })),
    cancelLosses: () => {
      losses.length = 0;
    },
    async dispose() {
      await hub.close();
      await detach.close();
      destroyAll();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      for (const e of made) await e.close();
    },
  };
}

/** mulberry32: a tiny seeded PRNG, so a failing chaos run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
