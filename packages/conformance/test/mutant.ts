/**
 * A WebSocket proxy in front of a real server that breaks one protocol rule ("a mutant"), to prove
 * that the conformance check for that rule fails — and that the others still pass.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export type Frame = Record<string, unknown> & { type?: unknown };

/** What the proxy knows about one client connection. */
export interface Conn {
  /** The client's hello (undefined before it). */
  hello: Frame | undefined;
  /** Client frames sent so far, by `ref`. */
  requests: Map<string, Frame>;
  /** Sends not yet acked. */
  pendingSends: number;
  /** Highest message seq this client was sent, per conversation. */
  seen: Map<string, number>;
  /** Scratch space for a mutant. */
  held: Frame[];
  /** Whether the server sent `synced` on this connection yet. */
  synced: boolean;
}

export interface Mutant {
  /**
   * A client frame (`raw`: its text). Return frames to answer it in the server's place (it is not
   * forwarded), a close code to close the client with, or undefined to forward it.
   */
  client?(f: Frame, conn: Conn, raw: string): Frame[] | { close: number } | undefined;
  /** A server frame: return what the client gets instead (`[]` drops it), or undefined. */
  server?(f: Frame, conn: Conn): Frame[] | undefined;
}

/** Starts the proxy; returns its URL and a dispose function. */
export async function startMutant(
  upstream: string,
  mutant: Mutant,
): Promise<{ url: string; close(): Promise<void> }> {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    // Large enough to see frames the real server would refuse (the frame size mutant).
    maxPayload: 4 * 1024 * 1024,
    handleProtocols: (p) => [...p][0] ?? false,
  });
  wss.on('connection', (client, req) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const up = new WebSocket(upstream, offered, { maxPayload: 64 * 1024 * 1024 });
    const queue: string[] = [];
    const conn: Conn = {
      hello: undefined,
      requests: new Map(),
      pendingSends: 0,
      seen: new Map(),
      held: [],
      synced: false,
    };
    const toClient = (f: Frame) => {
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(f));
    };
    up.on('open', () => {
      for (const m of queue.splice(0)) up.send(m);
    });
    up.on('message', (data) => {
      const f = JSON.parse(String(data)) as Frame;
      if (f.type === 'ack') conn.pendingSends = Math.max(0, conn.pendingSends - 1);
      const out = mutant.server?.(f, conn) ?? [f];
      if (f.type === 'synced') conn.synced = true;
      for (const x of out) {
        const m = (x.message ?? {}) as { conversationId?: string; seq?: number };
        if ((x.type === 'message' || x.type === 'ack') && m.conversationId !== undefined)
          conn.seen.set(
            m.conversationId,
            Math.max(conn.seen.get(m.conversationId) ?? 0, m.seq ?? 0),
          );
        toClient(x);
      }
    });
    up.on('close', (code, reason) => {
      if (client.readyState !== WebSocket.OPEN) return;
      if (code === 1005 || code === 1006) client.terminate();
      else client.close(code, reason);
    });
    up.on('error', () => client.terminate());
    client.on('message', (data) => {
      const raw = String(data);
      let f: Frame;
      try {
        f = JSON.parse(raw) as Frame;
      } catch {
        f = {};
      }
      if (f.type === 'hello' && conn.hello === undefined) conn.hello = f;
      if (typeof f.ref === 'string') conn.requests.set(f.ref, f);
      if (f.type === 'send') conn.pendingSends++;
      const answer = mutant.client?.(f, conn, raw);
      if (answer !== undefined) {
        if ('close' in answer) client.close(answer.close, 'mutant');
        else for (const x of answer) toClient(x);
        return;
      }
      if (up.readyState === WebSocket.OPEN) up.send(raw);
      else queue.push(raw);
    });
    client.on('close', () => up.terminate());
    client.on('error', () => up.terminate());
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/parley`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
