/**
 * The node:http adapter's upgrade dispatch (issue 13, item 10): upgrade requests for other paths
 * are never left unanswered — they go to the app's other upgrade listeners, are answered 404
 * (WebSocket upgrades nobody serves), or reach the app's own routes (`Upgrade: h2c`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { attachHub } from '../src/adapters/node.js';
import { createHub, type Hub } from '../src/hub/hub.js';
import { TestClient } from './utils/client.js';

const disposers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const d of disposers.splice(0).reverse()) await d();
});

const newHub = (): Hub => {
  const hub = createHub({
    authenticate: ({ token }) => (token ? { userId: token } : null),
    conversationsOf: () => ['c1'],
  });
  disposers.push(() => hub.close());
  return hub;
};

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  disposers.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Sends a raw request; resolves with what came back once the server ended the connection. */
function raw(port: number, request: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(request));
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(`no end of the response within ${timeoutMs} ms; got ${JSON.stringify(got)}`),
      );
    }, timeoutMs);
    s.on('data', (d) => {
      got += d.toString('utf8');
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

const h2c = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`;
const websocket = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

describe('node adapter: upgrade requests for other paths', () => {
  it('hands an h2c upgrade on an app route to the app (node:http and Express), and ends it', async () => {
    const plain = http.createServer((req, res) => res.end(`app ${req.url}`));
    attachHub(newHub(), plain);
    const app = express();
    app.get('/api/x', (_req, res) => {
      res.json({ route: 'x' });
    });
    const viaExpress = http.createServer(app);
    attachHub(newHub(), viaExpress);
    const [p1, p2] = [await listen(plain), await listen(viaExpress)];
    expect(await raw(p1, h2c('/api/x'))).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*app \/api\/x$/);
    expect(await raw(p2, h2c('/api/x'))).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*\{"route":"x"\}$/);
  });

  it('answers WebSocket upgrades for near-miss paths with 404 and closes them', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    attachHub(newHub(), server, { path: '/parley' });
    const port = await listen(server);
    for (const path of ['/parley/', '/PARLEY', '/other']) {
      expect(await raw(port, websocket(path))).toMatch(/^HTTP\/1\.1 404 Not Found/);
    }
    const ok = await TestClient.connect(`ws://127.0.0.1:${port}/parley?x=1`, { token: 'alice' });
    expect(ok.welcome.user.id).toBe('alice');
    ok.terminate();
  });

  it("leaves other paths to the app's other upgrade listeners; several hubs share one server", async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    attachHub(newHub(), server, { path: '/a' });
    attachHub(newHub(), server, { path: '/b' });
    const other = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/echo') other.handleUpgrade(req, socket, head, (ws) => ws.send('echo'));
    });
    disposers.push(() => new Promise((r) => other.close(() => r())));
    const port = await listen(server);
    for (const path of ['/a', '/b']) {
      const c = await TestClient.connect(`ws://127.0.0.1:${port}${path}`, { token: 'alice' });
      expect(c.welcome.user.id).toBe('alice');
      c.terminate();
    }
    expect(await raw(port, websocket('/echo'), 1000).catch((e: Error) => e.message)).toMatch(
      /101 Switching Protocols/,
    );
    expect(() => attachHub(newHub(), server, { path: '/a' })).toThrow(/already attached/);
  });
});
