/**
 * System under test 1: the minimal `ws` relay — the practical limit for a Node hub.
 * Map<conversation, Set<socket>>; the first frame is a tiny hello `{"convs":["c1",…]}` answered by
 * `{"ok":1}`; every later frame `{"c":"c1",…}` is parsed once (to route it) and its original bytes
 * are forwarded to every socket of the conversation, unchanged — the sender's included: its echo
 * is the sender's delivery, as Parley's `ack` is (issue #15: every system writes one frame per
 * member socket).
 */
import { createServer } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { host, readConfig } from '../lib/server-host.js';

const config = readConfig();
const http = createServer();
const wss = new WebSocketServer({ server: http, path: '/relay', perMessageDeflate: false });
const rooms = new Map<string, Set<WebSocket>>();
const OK = Buffer.from('{"ok":1}');

wss.on('connection', (ws) => {
  let convs: string[] | null = null;
  ws.on('message', (data: Buffer, isBinary) => {
    if (convs === null) {
      try {
        convs = (JSON.parse(data.toString()) as { convs: string[] }).convs;
      } catch {
        ws.close(4400);
        return;
      }
      for (const c of convs) {
        let set = rooms.get(c);
        if (!set) {
          set = new Set();
          rooms.set(c, set);
        }
        set.add(ws);
      }
      ws.send(OK, { binary: false });
      return;
    }
    let c: string;
    try {
      c = (JSON.parse(data.toString()) as { c: string }).c;
    } catch {
      return;
    }
    const set = rooms.get(c);
    if (!set?.has(ws)) return;
    for (const peer of set) {
      if (peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
    }
  });
  ws.on('close', () => {
    if (!convs) return;
    for (const c of convs) {
      const set = rooms.get(c);
      set?.delete(ws);
      if (set && set.size === 0) rooms.delete(c);
    }
  });
});

await host(config, {
  http,
  connections: () => wss.clients.size,
  close: async () => {
    for (const ws of wss.clients) ws.close(1012, 'restart');
    await new Promise((r) => setTimeout(r, 200));
    wss.close();
    http.close();
  },
});
