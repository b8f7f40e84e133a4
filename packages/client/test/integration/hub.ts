/**
 * A real hub (`@parley/server-adapter`) on node:http, port 0, for integration tests. Tracks the
 * server-side TCP sockets and the client-side WebSockets so a test can kill either end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHub, type HubOptions } from '@parley/server-adapter';
import { attachHub } from '@parley/server-adapter/node';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../src/index.js';

export interface TestHub {
  url: string;
  /** A WebSocket class whose instances are tracked (for `killClientSocket`). */
  WebSocket: WebSocketConstructor;
  /** Destroys every server-side TCP socket (no close frame: the client sees 1006). */
  killServerSockets(): number;
  /** Stops reading from every server-side TCP socket: a half-open link (no pong, no frames). */
  freezeServerSockets(): number;
  /** Closes the hub gracefully (1012 with a `shutdown` hint) and keeps the HTTP server. */
  closeHub(): Promise<void>;
  /** Terminates the client-side sockets opened through `WebSocket` (all of them, or the latest `n`). */
  killClientSockets(): number;
  dispose(): Promise<void>;
}

export async function startHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  const httpServer: Server = createServer();
  const tcp = new Set<Socket>();
  httpServer.on('connection', (s) => {
    tcp.add(s);
    s.on('close', () => tcp.delete(s));
  });
  const hub = createHub({
    authenticate: async ({ token }) =>
      token ? { userId: token, profile: { name: token.toUpperCase() } } : null,
    conversationsOf: async () => ['room'],
    ...options,
  });
  const detach = attachHub(hub, httpServer, { path: '/parley' });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  const sockets = new Set<WebSocket>();
  class TrackedWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.add(this);
      this.on('close', () => sockets.delete(this));
    }
  }
  return {
    url: `ws://127.0.0.1:${port}/parley`,
    WebSocket: TrackedWebSocket,
    killServerSockets() {
      const n = tcp.size;
      for (const s of tcp) s.destroy();
      return n;
    },
    freezeServerSockets() {
      for (const s of tcp) s.pause();
      return tcp.size;
    },
    closeHub: () => hub.close(),
    killClientSockets() {
      const n = sockets.size;
      for (const s of sockets) s.terminate();
      return n;
    },
    async dispose() {
      await hub.close();
      await detach.close();
      for (const s of tcp) s.destroy();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
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
